import Foundation

public struct ExportError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Where an export is written. Everything goes into a staging folder beside `--out` and is published with one
/// rename, so `--out` holds either the previous complete export or the new complete one, never a mix, whatever
/// kills the process. The one exception is `--force` into a folder holding other files: there the files are moved
/// in one by one and `export_info.json` comes last, as the mark of a complete export.
struct ExportFolder {
    /// Names an export may write, of every format; nothing else in `--out` is ever touched.
    static let exportNames: Set<String> = {
        var names: Set<String> = ["export_info.json", "README.md", stagingMarker]
        for format in ExportFormat.allCases {
            for split in Split.allCases { names.formUnion(ExportSink.fileNames(format, split: split)) }
        }
        return names
    }()
    static let stagingMarker = ".tokenize-corpus-export"

    /// A name an export writes: a fixed one, or a Parquet part `train-00000.parquet`.
    static func isExportName(_ name: String) -> Bool {
        if exportNames.contains(name) { return true }
        if TrainerPreset.isFileName(name) { return true }
        let parts = name.split(separator: "-")
        return parts.count == 2 && Split(rawValue: String(parts[0])) != nil && parts[1].hasSuffix(".parquet")
            && parts[1].dropLast(8).count == 5 && parts[1].dropLast(8).allSatisfy(\.isNumber)
    }

    enum Target { case absentOrEmpty, previousExport, otherFiles }

    let out: String
    let staging: String
    let target: Target

    init(out: String, force: Bool) throws {
        self.out = out
        staging = out.hasSuffix("/") ? String(out.dropLast()) + ".export-partial" : out + ".export-partial"
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        if fm.fileExists(atPath: out, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else { throw ExportError("\(out): exists and is not a folder; --out names the folder to write") }
            guard let contents = try? fm.contentsOfDirectory(atPath: out) else { throw ExportError("\(out): cannot list the folder") }
            let foreign = contents.filter { !Self.isExportName($0) }.sorted()
            if contents.isEmpty {
                target = .absentOrEmpty
            } else if foreign.isEmpty && contents.contains("export_info.json") {
                target = .previousExport
            } else if force {
                target = .otherFiles
            } else {
                let shown = (foreign.isEmpty ? contents.sorted() : foreign).prefix(3).joined(separator: ", ")
                throw ExportError(
                    "\(out): holds files an export did not write (\(shown)); use a new or empty folder, or --force to write beside them")
            }
        } else {
            target = .absentOrEmpty
        }
        // A staging folder left by a killed export is ours (it carries the marker, or is empty); anything else of that
        // name is not.
        if fm.fileExists(atPath: staging) {
            let marked = fm.fileExists(atPath: (staging as NSString).appendingPathComponent(Self.stagingMarker))
            guard marked || (try? fm.contentsOfDirectory(atPath: staging))?.isEmpty == true else {
                throw ExportError("\(staging): exists and was not made by an export; move it away")
            }
            try fm.removeItem(atPath: staging)
        }
        // Made under another name with its marker, then renamed: a kill at any moment leaves either no staging folder
        // or a marked one (never an unmarked one that the next export would refuse).
        let fresh = staging + ".new"
        if let left = try? fm.contentsOfDirectory(atPath: fresh) {
            guard left.allSatisfy({ $0 == Self.stagingMarker }) else {
                throw ExportError("\(fresh): exists and was not made by an export; move it away")
            }
            try fm.removeItem(atPath: fresh)
        }
        guard (try? fm.createDirectory(atPath: fresh, withIntermediateDirectories: true)) != nil,
            fm.createFile(atPath: (fresh as NSString).appendingPathComponent(Self.stagingMarker), contents: Data()),
            rename(fresh, staging) == 0
        else {
            throw ExportError("\(staging): cannot create the staging folder beside --out (\(String(cString: strerror(errno))))")
        }
    }

    func path(_ name: String) -> String { (staging as NSString).appendingPathComponent(name) }

    /// Makes the staged export the content of `--out`. The staging marker stays in the staged folder until it is in
    /// place, so a kill at any moment leaves either a marked staging folder (cleared by the next export) or `--out`
    /// complete, perhaps with the marker, which the next export also recognises.
    func publish() throws {
        let fm = FileManager.default
        syncFolder(staging)
        Self.crashPoint("publish")
        switch target {
        case .absentOrEmpty:
            // rename(2) replaces an empty folder in one step.
            guard rename(staging, out) == 0 else {
                throw ExportError("\(out): cannot rename \(staging) to it (\(String(cString: strerror(errno))))")
            }
        case .previousExport:
            // The previous export becomes the staging folder: marked first, so a kill before it is removed
            // leaves something the next export recognises and clears.
            guard fm.createFile(atPath: (out as NSString).appendingPathComponent(Self.stagingMarker), contents: Data()) else {
                throw ExportError("\(out): cannot write in the previous export (\(String(cString: strerror(errno))))")
            }
            if Self.exchange(staging, out) {
                Self.crashPoint("exchanged")
                // `staging` now holds the previous export.
                try fm.removeItem(atPath: staging)
            } else {
                let old = out + ".export-old"
                try? fm.removeItem(atPath: old)
                guard rename(out, old) == 0, rename(staging, out) == 0 else {
                    throw ExportError("\(out): cannot replace the previous export (\(String(cString: strerror(errno))))")
                }
                try fm.removeItem(atPath: old)
            }
        case .otherFiles:
            // Only the files this export wrote are moved in (replacing files of the same name); nothing else is touched.
            for name in try fm.contentsOfDirectory(atPath: staging).sorted() where name != "export_info.json" && name != Self.stagingMarker
            {
                try move(name)
            }
            try move("export_info.json")
            try fm.removeItem(atPath: staging)
            return syncFolder(out)
        }
        Self.crashPoint("published")
        try? fm.removeItem(atPath: (out as NSString).appendingPathComponent(Self.stagingMarker))
        syncFolder((out as NSString).deletingLastPathComponent.isEmpty ? "." : (out as NSString).deletingLastPathComponent)
    }

    /// Kills the process at a named step of `publish` when TOKENIZE_CORPUS_EXPORT_CRASH names it: the tests' way to
    /// stop an export exactly where a `kill -9` would land once in many tries.
    static func crashPoint(_ name: String) {
        if ProcessInfo.processInfo.environment["TOKENIZE_CORPUS_EXPORT_CRASH"] == name { kill(getpid(), SIGKILL) }
    }

    /// Removes the staging folder of a failed export.
    func discard() { try? FileManager.default.removeItem(atPath: staging) }

    private func move(_ name: String) throws {
        let destination = (out as NSString).appendingPathComponent(name)
        guard rename(path(name), destination) == 0 else {
            throw ExportError("\(destination): cannot move into place (\(String(cString: strerror(errno))))")
        }
    }

    private func syncFolder(_ folder: String) {
        let fd = open(folder, O_RDONLY | O_DIRECTORY)
        guard fd >= 0 else { return }
        fsync(fd)
        close(fd)
    }

    /// Linux's renameat2(RENAME_EXCHANGE): swaps two folders in one step. Looked up at run time because Glibc's
    /// Swift module does not declare it; false where the kernel or file system lacks it.
    private static func exchange(_ a: String, _ b: String) -> Bool {
        typealias RenameAt2 = @convention(c) (Int32, UnsafePointer<CChar>, Int32, UnsafePointer<CChar>, UInt32) -> Int32
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "renameat2") else { return false }
        let renameat2 = unsafeBitCast(symbol, to: RenameAt2.self)
        let renameExchange: UInt32 = 2
        return renameat2(AT_FDCWD, a, AT_FDCWD, b, renameExchange) == 0
    }
}
