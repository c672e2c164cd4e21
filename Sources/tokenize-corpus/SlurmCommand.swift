import ArgumentParser
import Corpus
import Foundation

struct SlurmCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "slurm",
        abstract: "Write a Slurm array job (one store per task) and a merge job that runs after it.",
        discussion: """
            Writes DIR/tokenize.sbatch (an array of --tasks tasks, each `run --shard auto` into DIR/stores/task-ID.db, \
            requeue-safe because run resumes), DIR/merge.sbatch (merge into DIR/merged.db) and DIR/submit.sh, which \
            submits the array and the merge with --dependency=afterok. Prints the command to submit.
            """
    )

    @OptionGroup var manifests: ManifestList
    @OptionGroup var model: ModelOption
    @Option(help: "Output folder for the scripts, stores and logs.") var out: String
    @Option(help: "Array tasks (shards).") var tasks: Int
    @Option(name: .customLong("cpus-per-task"), help: "CPUs per task; each task runs that many workers.") var cpusPerTask: Int = 2
    @Option(help: "Time limit per task (Slurm format).") var time: String = "24:00:00"
    @Option(help: "Partition.") var partition: String?
    @Option(name: .customLong("mem-per-cpu"), help: "Memory per CPU (Slurm format).") var memPerCpu: String = "3G"
    @OptionGroup(title: "Passed to every task's run") var options: RunOptions

    func validate() throws {
        guard tasks >= 1 else { throw ValidationError("--tasks must be at least 1") }
        guard cpusPerTask >= 1 else { throw ValidationError("--cpus-per-task must be at least 1") }
    }

    /// A path in an #SBATCH directive: double-quoted (Slurm takes quoted values), `%` doubled (a filename pattern
    /// would replace it).
    static func directivePath(_ path: String) -> String { "\"" + path.replacingOccurrences(of: "%", with: "%%") + "\"" }

    static func quote(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'" }

    static func absolute(_ path: String) -> String {
        path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
    }

    /// Refuses values that cannot go into a job script, in one line.
    func checkScriptValues() throws {
        // Every value lands in a script: a control character could end a directive or start a command.
        let values =
            [("--out", out), ("--model", model.model), ("--time", time), ("--mem-per-cpu", memPerCpu)]
            + manifests.all.map { ("--manifest", $0) } + (partition.map { [("--partition", $0)] } ?? [])
            + options.arguments.map { ("a run option", $0) }
        for (name, value) in values where value.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
            throw CommandFailure("\(name) \(value.debugDescription) holds a control character; it cannot go into a job script")
        }
        for (name, value) in [("--out", out)] where value.contains("\"") {
            throw CommandFailure("\(name) \(value.debugDescription) holds a double quote, which an #SBATCH path cannot")
        }
        for (name, value) in [("--time", time), ("--mem-per-cpu", memPerCpu)] + (partition.map { [("--partition", $0)] } ?? [])
        where value.contains(where: { $0.isWhitespace || $0 == "\"" || $0 == "'" }) {
            throw CommandFailure("\(name) \(value.debugDescription) holds a space or a quote, which Slurm does not take there")
        }
    }

    func run() throws {
        try checkScriptValues()
        let dir = Self.absolute(out)
        let fm = FileManager.default
        try fm.createDirectory(atPath: dir + "/stores", withIntermediateDirectories: true)
        try fm.createDirectory(atPath: dir + "/logs", withIntermediateDirectories: true)
        let binary = (try? fm.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? Self.absolute(CommandLine.arguments[0])
        // A folder model is passed absolute; a Hub id as it is (each task finds it in the shared cache).
        var isFolder: ObjCBool = false
        let modelArgument =
            fm.fileExists(atPath: model.model, isDirectory: &isFolder) && isFolder.boolValue ? Self.absolute(model.model) : model.model
        let manifestWords = manifests.all.map { Self.quote(Self.absolute($0)) }.joined(separator: " ")
        let q = Self.quote
        var header = """
            #!/bin/bash
            #SBATCH --job-name=tokenize-corpus
            #SBATCH --array=0-\(tasks - 1)
            #SBATCH --cpus-per-task=\(cpusPerTask)
            #SBATCH --mem-per-cpu=\(memPerCpu)
            #SBATCH --time=\(time)
            #SBATCH --output=\(Self.directivePath(dir + "/logs/").dropLast())task-%a.log"
            #SBATCH --open-mode=append
            #SBATCH --requeue

            """
        if let partition { header += "#SBATCH --partition=\(partition)\n" }
        let array =
            header + """
                # One shard per array task; `run` resumes, so a requeued or resubmitted task continues where it stopped.
                set -euo pipefail
                exec \(q(binary)) run \(manifestWords) --model \(q(modelArgument)) \\
                    --store \(q(dir))/stores/task-"$SLURM_ARRAY_TASK_ID".db --shard auto \\
                    --workers "${SLURM_CPUS_PER_TASK:-\(cpusPerTask)}" \(options.arguments.map(q).joined(separator: " "))

                """
        var mergeHeader = """
            #!/bin/bash
            #SBATCH --job-name=tokenize-corpus-merge
            #SBATCH --cpus-per-task=1
            #SBATCH --time=\(time)
            #SBATCH --output=\(Self.directivePath(dir + "/logs/merge.log"))
            #SBATCH --open-mode=append

            """
        if let partition { mergeHeader += "#SBATCH --partition=\(partition)\n" }
        let merge =
            mergeHeader + """
                # Runs after every array task succeeded; rerunning it is safe.
                set -euo pipefail
                exec \(q(binary)) merge \(q(dir))/stores/task-*.db --into \(q(dir))/merged.db

                """
        let submit = """
            #!/bin/bash
            # Submits the array job, then the merge job that waits for it to succeed.
            set -euo pipefail
            array=$(sbatch --parsable \(q(dir))/tokenize.sbatch)
            array=${array%%;*}
            merge=$(sbatch --parsable --dependency=afterok:"$array" \(q(dir))/merge.sbatch)
            echo "array job $array, merge job ${merge%%;*}"

            """
        for (name, text) in [("tokenize.sbatch", array), ("merge.sbatch", merge), ("submit.sh", submit)] {
            let path = dir + "/" + name
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            try fm.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path)
        }
        print("bash \(q(dir + "/submit.sh"))")
    }
}
