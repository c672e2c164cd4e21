import CBLAS
import Foundation

/// Which OpenBLAS kernels ("core") run. OpenBLAS picks them once, when it loads, from CPUID; a build older than the
/// CPU (Debian 12's 0.3.21 on Sapphire or Emerald Rapids) does not know it and falls back to a generic SSE core at a
/// fraction of the machine's speed. `OPENBLAS_CORETYPE` overrides the pick, but only before the library loads.
public enum BLASCore {
    /// The core in use, as OpenBLAS names it (`Prescott`, `Haswell`, `SkylakeX`, `Cooperlake`, `Zen`, ...).
    public static var name: String { String(cString: openblas_get_corename()) }

    /// `OpenBLAS 0.3.21 NO_LAPACKE DYNAMIC_ARCH ...`: the version, and whether the core can be chosen at all.
    public static var configuration: String { String(cString: openblas_get_config()) }

    public static var version: String {
        let words = configuration.split(separator: " ")
        return words.count > 1 ? String(words[1]) : configuration
    }

    /// Cores that use no AVX: what an OpenBLAS falls back to on a CPU it does not know.
    static let genericCores: Set<String> = [
        "Katmai", "Coppermine", "Northwood", "Prescott", "Banias", "Atom", "Core2", "Penryn", "Dunnington", "Nehalem",
        "Athlon", "Opteron", "Opteron_SSE3", "Barcelona", "Nano", "Unknown",
    ]

    public static func isGeneric(_ core: String) -> Bool { genericCores.contains(core) }

    /// The fastest core of a DYNAMIC_ARCH build of OpenBLAS 0.3.21 or later whose instructions the CPU has (its
    /// /proc/cpuinfo flags and vendor); nil when it has no AVX2 and FMA, where the generic pick is as good.
    public static func preferred(cpuFlags flags: Set<String>, vendor: String) -> String? {
        let avx512 = ["avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"].allSatisfy(flags.contains)
        if avx512 && flags.contains("avx512_bf16") { return "Cooperlake" }
        if avx512 { return "SkylakeX" }
        if flags.contains("avx2") && flags.contains("fma") { return vendor == "AuthenticAMD" ? "Zen" : "Haswell" }
        return nil
    }

    /// This machine's CPU: model name, vendor and feature flags, from /proc/cpuinfo (empty where there is none).
    public static func cpu() -> (model: String, vendor: String, flags: Set<String>) {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return ("unknown CPU", "", []) }
        var model = "unknown CPU", vendor = "", flags: Set<String> = []
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2 else { continue }
            switch parts[0] {
            case "model name" where model == "unknown CPU": model = parts[1]
            case "vendor_id" where vendor.isEmpty: vendor = parts[1]
            case "flags" where flags.isEmpty: flags = Set(parts[1].split(separator: " ").map(String.init))
            default: break
            }
            if !flags.isEmpty && !vendor.isEmpty && model != "unknown CPU" { break }
        }
        return (model, vendor, flags)
    }
}
