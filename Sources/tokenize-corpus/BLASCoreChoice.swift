import Codec
import Foundation

/// Runs the process with the best OpenBLAS core this CPU supports when OpenBLAS itself picked a generic one.
/// OpenBLAS reads `OPENBLAS_CORETYPE` only while it loads, so the process executes itself once more with it set;
/// a `OPENBLAS_CORETYPE` of the user's is never touched.
enum BLASCoreChoice {
    /// Set in the re-executed process: the choice, for the line `run` and `bench` print (and no second re-exec).
    static let marker = "TOKENIZE_CORPUS_BLAS_CHOICE"

    static func reexecIfGeneric() {
        let environment = ProcessInfo.processInfo.environment
        guard environment["OPENBLAS_CORETYPE"] == nil, environment[marker] == nil else { return }
        let picked = BLASCore.name
        guard BLASCore.isGeneric(picked), BLASCore.configuration.contains("DYNAMIC_ARCH") else { return }
        let cpu = BLASCore.cpu()
        guard let better = BLASCore.preferred(cpuFlags: cpu.flags, vendor: cpu.vendor) else { return }
        setenv("OPENBLAS_CORETYPE", better, 1)
        setenv(marker, "OpenBLAS picked \(picked) for this CPU; running with OPENBLAS_CORETYPE=\(better)", 1)
        execv("/proc/self/exe", CommandLine.unsafeArgv)
        // Only reached when exec failed: go on with the generic core.
        unsetenv("OPENBLAS_CORETYPE")
    }

    /// One line for the start of `run` and `bench`: CPU, OpenBLAS version and core (and why), threads.
    static func describe(threads: String) -> String {
        let why =
            ProcessInfo.processInfo.environment[marker].map { " (\($0))" }
            ?? (ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] != nil ? " (OPENBLAS_CORETYPE set by you)" : "")
        return "\(BLASCore.cpu().model); OpenBLAS \(BLASCore.version), core \(BLASCore.name)\(why); \(threads)"
    }
}
