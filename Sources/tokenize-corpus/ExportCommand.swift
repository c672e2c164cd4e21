import ArgumentParser
import Corpus
import Foundation

extension ExportFormat: ExpressibleByArgument {}

struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a store's utterances as training sequences (Llasa memmaps, JSONL or Megatron indexed dataset).",
        discussion: """
            Each sequence: <|TEXT_UNDERSTANDING_START|> transcript <|TEXT_UNDERSTANDING_END|> \
            <|SPEECH_GENERATION_START|> codes + speech base <|SPEECH_GENERATION_END|>, cut at --max-length.
            llasa: train/val_input_ids.memmap (int32 [rows, max-length], padded with the pad id, rows shuffled) and \
            train/val_input_ids_shape.npy, as LLaSA_training's get_memmap_from_token.py writes them.
            jsonl: train/val.jsonl, {"id", "input_ids", "text_tokens", "speech_tokens", "truncated"} per line, unpadded; \
            the counts are the transcript's and the utterance's before any cut.
            megatron: train/val.bin + .idx (MMIDIDX, int32), one document per utterance, unpadded.
            All formats put the same utterances in val for the same --seed. export_info.json records the token ids \
            and the utterance ids of each split in row order. The export is staged beside --out and published with \
            one rename: --out holds a complete export or none.
            """)

    @Option(help: "The store.") var store: String
    @OptionGroup var tokenizer: TokenizerOption
    @Option(help: "llasa, jsonl or megatron.") var format: ExportFormat
    @Option(help: "Output folder.") var out: String
    @Option(help: "Sequence length: longer sequences are cut, llasa rows padded to it.") var maxLength = 2048
    @Option(help: "Rows for validation (default: 1000, capped at 5% of the rows, at least 1).") var valSize: Int?
    @Option(help: "Seed of the shuffle and the split.") var seed: UInt64 = 0
    @Option(help: "Pad id (default: the tokenizer's EOS).") var padId: Int32?
    @Flag(help: "Write into a folder that holds files an export did not write (they are left alone; export files are replaced).")
    var force = false

    func run() throws {
        let text = try tokenizer.load()
        var options = ExportOptions(format: format)
        options.maxLength = maxLength
        options.valSize = valSize
        options.seed = seed
        options.padId = padId
        options.force = force
        let started = Date()
        let summary = try Exporter.export(store: try Store(path: store, access: .read), tokenizer: text, options: options, to: out)
        let v = summary.vocabulary
        let rows = summary.rows["train", default: 0] + summary.rows["val", default: 0]
        print("exported \(rows) rows to \(out) (\(format.rawValue)) in \(String(format: "%.1f", Date().timeIntervalSince(started))) s")
        print("rows        train \(summary.rows["train", default: 0]), val \(summary.rows["val", default: 0])")
        print("tokens      \(summary.tokens) written (text \(summary.textTokens), speech \(summary.speechTokens) before cuts)")
        print("truncated   \(summary.truncatedRows) rows longer than \(maxLength)")
        if summary.rowsWithoutSpeech > 0 {
            print(
                "warning     \(summary.rowsWithoutSpeech) rows hold no speech (transcript alone reaches "
                    + "--max-length); LLaSA_training cannot use them"
            )
        }
        if format == .llasa { print("padding     \(String(format: "%.1f", summary.paddingFraction * 100))% of ids") }
        let tasks = LlasaVocabulary.taskTokens.map { "\($0)=\(v.taskTokenIds[$0]!)" }.joined(separator: " ")
        print("task ids    \(tasks)")
        print(
            "speech base \(v.speechBase)\(v.speechTokensInTokenizer ? " (the tokenizer's <|s_0|>)" : " (after the task tokens)")"
                + "; ids up to \(v.requiredVocabularySize - 1)"
        )
        print("pad id      \(v.padId)\(padId == nil ? " (EOS \(text.eosToken ?? "?"))" : "")")
    }
}
