import ArgumentParser
import Corpus
import Foundation
import Store
import Tokenizer

extension ExportFormat: ExpressibleByArgument {}
extension OverflowPolicy: ExpressibleByArgument {}
extension TrainerPreset: ExpressibleByArgument {}

/// `--prompt same-speaker`.
enum PromptKind: String, ExpressibleByArgument, CaseIterable {
    case none
    case sameSpeaker = "same-speaker"
}

struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a store's utterances as training sequences (Llasa memmaps, JSONL, Megatron indexed dataset or Parquet).",
        discussion: """
            Each sequence: <|TEXT_UNDERSTANDING_START|> transcript <|TEXT_UNDERSTANDING_END|> \
            <|SPEECH_GENERATION_START|> codes + speech base <|SPEECH_GENERATION_END|>; longer than --max-length: left out \
            (--overflow drop) or cut (--overflow truncate). Filters choose the rows; --prompt same-speaker prefixes each \
            with another utterance of its speaker.
            llasa: train/val_input_ids.memmap (int32 [rows, max-length], padded with the pad id, rows shuffled) and \
            train/val_input_ids_shape.npy, as LLaSA_training's get_memmap_from_token.py writes them.
            jsonl: train/val.jsonl, {"id", "input_ids", "text_tokens", "speech_tokens", "truncated"} per line, unpadded; \
            the counts are the transcript's and the utterance's before any cut.
            megatron: train/val.bin + .idx (MMIDIDX, int32), one document per utterance, unpadded.
            parquet: train/val-NNNNN.parquet (id, text, speaker, duration, codes, input_ids), for the Hub.
            --trainer NAME writes llasa rows the way that trainer's loader reads them: its file names and pad id, and rows \
            that still end in <|SPEECH_GENERATION_END|> after its chat template wraps them (llasa-training: \
            zhenye234/LLaSA_training; llasa-multigpu: SebastianBodza/LLaSA_training; unsloth: the Llasa_TTS notebook, \
            which keeps speech whole and cuts the transcript). Check any export with check-export.
            Every export folder gets a README.md dataset card.
            All formats put the same utterances in val for the same --seed. export_info.json records the token ids \
            and the utterance ids of each split in row order. The export is staged beside --out and published with \
            one rename: --out holds a complete export or none.
            """)

    @Option(help: "The store.") var store: String
    @OptionGroup var tokenizer: TokenizerOption
    @Option(help: "The training format (llasa with --trainer).") var format: ExportFormat?
    @Option(
        help: ArgumentHelp(
            "Write for this trainer: llasa-training, llasa-multigpu or unsloth (file names, pad id, and the budget of its chat template).",
            valueName: "name"))
    var trainer: TrainerPreset?
    @Option(help: "llasa-multigpu: train rows over this many rank files (the fork's train_tts.py reads ranks 0 and 1).") var ranks = 2
    @Option(help: "The trainer's chat template (a Jinja file), instead of the tokenizer's.") var chatTemplate: String?
    @Option(help: "The first day of training (YYYY-MM-DD, default today): the template renders the day the loader runs.")
    var trainFrom: DayOption?
    @Option(help: "Days the training runs: rows fit the template of each of them.") var trainDays = 7
    @Option(help: "Output folder.") var out: String
    @Option(help: "Sequence length: llasa rows are padded to it; longer rows are left out or cut (--overflow).") var maxLength = 2048
    @Option(help: "Rows for validation (default: 1000, capped at 5% of the rows, at least 1).") var valSize: Int?
    @Option(help: "Seed of the shuffle and the split.") var seed: UInt64 = 0
    @Option(help: "Pad id (default: the tokenizer's EOS).") var padId: Int32?
    @Flag(help: "Write into a folder that holds files an export did not write (they are left alone; export files are replaced).")
    var force = false

    @Option(
        help: ArgumentHelp(
            "Rows longer than --max-length: drop (left out, counted) or truncate (cut, as LLaSA_training does).",
            discussion: "drop is the default: a cut row loses <|SPEECH_GENERATION_END|>, and a model trained on it learns not to stop."))
    var overflow: OverflowPolicy?

    @Option(
        help: "same-speaker: start each row with another utterance of its speaker from the same split (llasa, jsonl, megatron, parquet).")
    var prompt: PromptKind = .none
    @Option(name: .customLong("prompt-min-duration"), help: "Shortest prompt utterance (seconds).") var promptMinDuration = 3.0
    @Option(name: .customLong("prompt-max-duration"), help: "Longest prompt utterance (seconds).") var promptMaxDuration = 10.0

    @Option(name: .customLong("min-duration"), help: "Keep utterances of at least this many seconds.") var minDuration: Double?
    @Option(name: .customLong("max-duration"), help: "Keep utterances of at most this many seconds.") var maxDuration: Double?
    @Option(help: "Keep only these speakers: a comma-separated list, or @FILE with one per line.") var speakers: String?
    @Option(name: .customLong("exclude-speakers"), help: "Leave out these speakers: a list or @FILE.") var excludeSpeakers: String?
    @Option(help: "Keep only these languages (the `language` manifest field): a list or @FILE.") var languages: String?
    @Option(name: .customLong("min-chars-per-second"), help: "Keep utterances with at least this many characters per second (as `stats`).")
    var minCharsPerSecond: Double?
    @Option(name: .customLong("max-chars-per-second"), help: "Keep utterances with at most this many characters per second.")
    var maxCharsPerSecond: Double?
    @Option(
        name: .customLong("where"),
        help: ArgumentHelp(
            "An SQL condition over the rows: id, text, speaker, duration, num_frames, sample_rate, audio_path, source, chars, "
                + "chars_per_second, language, fields, and each extra manifest field by name (e.g. \"dnsmos >= 3.2\")."))
    var whereSQL: String?

    func validate() throws {
        guard format != nil || trainer != nil else {
            throw ValidationError("Missing expected argument '--format <format>' (or --trainer <name>)")
        }
        if let trainer, let format, format != .llasa {
            throw ValidationError("--trainer \(trainer.rawValue) writes llasa memmaps; --format \(format.rawValue) does not go with it")
        }
        if let trainer, let overflow {
            throw ValidationError(
                "--trainer \(trainer.rawValue) sets the overflow rule (\(trainer.cutsText ? "cut-text" : "drop")); drop --overflow \(overflow.rawValue)"
            )
        }
        guard promptMinDuration >= 0, promptMaxDuration >= promptMinDuration else {
            throw ValidationError("--prompt-min-duration must be >= 0 and <= --prompt-max-duration")
        }
    }

    /// A comma-separated list, or `@FILE` with one entry per line (LF or CRLF, BOM).
    static func list(_ value: String?) throws -> [String]? {
        guard let value else { return nil }
        if value.hasPrefix("@") {
            let path = String(value.dropFirst())
            guard let data = FileManager.default.contents(atPath: path) else { throw CommandFailure("\(path): cannot read the list") }
            return TextLines.split(data).compactMap { $0?.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
        return value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    func run() throws {
        let text = try tokenizer.load()
        let format = self.format ?? .llasa
        var options = ExportOptions(format: format)
        options.maxLength = maxLength
        options.valSize = valSize
        options.seed = seed
        options.padId = padId
        options.force = force
        options.overflow = overflow ?? .drop
        if let trainer {
            options.trainer = trainer
            options.ranks = ranks
            if !trainer.hasEvalSplit && valSize == nil { options.valSize = 0 }
            options.overflow = trainer.cutsText ? .cutText : .drop
            options.padId = try padId ?? trainer.padId(tokenizer: text)
            let vocabulary = try LlasaVocabulary.installed(on: text, padId: options.padId)
            // The loader renders the day it runs (strftime_now): the budget holds on every day of training.
            guard trainDays >= 1 else { throw ValidationError("--train-days must be at least 1") }
            options.trainerTemplate = try TrainerTemplate.longest(
                tokenizer: text, vocabulary: vocabulary, template: try text.trainerChatTemplate(override: chatTemplate),
                from: trainFrom?.date ?? Date(), days: trainDays)
        }
        if prompt == .sameSpeaker {
            var p = PromptOptions()
            p.minDuration = promptMinDuration
            p.maxDuration = promptMaxDuration
            options.prompt = p
        }
        options.filters.minDuration = minDuration
        options.filters.maxDuration = maxDuration
        options.filters.speakers = try Self.list(speakers)
        options.filters.excludeSpeakers = try Self.list(excludeSpeakers)
        options.filters.languages = try Self.list(languages)
        options.filters.minCharsPerSecond = minCharsPerSecond
        options.filters.maxCharsPerSecond = maxCharsPerSecond
        options.filters.whereSQL = whereSQL
        options.tokenizerName = tokenizer.publishedName
        let started = Date()
        let summary = try Exporter.export(store: try Store(path: store, access: .read), tokenizer: text, options: options, to: out)
        let v = summary.vocabulary
        let rows = summary.rows.train + summary.rows.val
        print("exported \(rows) rows to \(out) (\(format.rawValue)) in \(String(format: "%.1f", Date().timeIntervalSince(started))) s")
        print("rows        train \(summary.rows.train), val \(summary.rows.val) of \(summary.doneRows) done")
        if summary.pendingRows > 0 || summary.failedRows > 0 {
            print(
                "\(summary.pendingRows > 0 ? "warning " : "not done")    the store also holds \(summary.pendingRows) pending and "
                    + "\(summary.failedRows) failed utterances, which are not in this export"
                    + (summary.pendingRows > 0 ? ": the corpus is not finished (run it again to encode them)" : ""))
        }
        for filter in summary.filters { print("filtered    \(filter.removed) by \(filter.filter)") }
        if let trainer, let added = summary.trainerTemplateTokens {
            print(
                "trainer     \(trainer.rawValue): \(trainer.summary); its chat template adds \(added) ids before the end token, so rows are at most \(maxLength - added)"
            )
        }
        if trainer == .llasaMultigpu && ranks > TrainerPreset.multigpuRanksRead.count {
            print(
                "warning     the fork's multigpu train_tts.py reads ranks 0-1 only (ranks=[0, 1] in main()): edit it to read all \(ranks), "
                    + "or its main branch reads them all")
        }
        let budget = "\(maxLength)" + (summary.trainerTemplateTokens.map { " with the \($0) template ids" } ?? "")
        if options.overflow == .drop { print("dropped     \(summary.droppedRows) rows longer than \(budget) (--overflow drop)") }
        if options.overflow == .cutText {
            print(
                "cut         \(summary.textCutRows) rows had their transcript's end cut to fit \(budget); \(summary.droppedRows) left out (speech alone too long)"
            )
        }
        if summary.prompt != nil {
            print(
                "prompts     \(summary.rowsWithPrompt) rows with one, \(summary.rowsWithoutPrompt) without (no other utterance of the speaker in range)"
            )
        }
        print("tokens      \(summary.tokens) written (text \(summary.textTokens), speech \(summary.speechTokens) before cuts)")
        if options.overflow == .truncate { print("truncated   \(summary.truncatedRows) rows longer than \(maxLength)") }
        if summary.rowsWithoutSpeech > 0 {
            print(
                "warning     \(summary.rowsWithoutSpeech) rows hold no speech (transcript alone reaches "
                    + "--max-length); LLaSA_training cannot use them"
            )
        }
        if summary.rows.val == 0 {
            print("warning     the val split is empty: the trainer gets no eval files (--val-size, or fewer filters)")
        }
        if format == .llasa { print("padding     \(String(format: "%.1f", summary.paddingFraction * 100))% of ids") }
        let tasks = LlasaVocabulary.taskTokens.map { "\($0)=\(v.taskTokenIds[$0]!)" }.joined(separator: " ")
        print("task ids    \(tasks)")
        print(
            "speech base \(v.speechBase)\(v.speechTokensInTokenizer ? " (the tokenizer's <|s_0|>)" : " (after the task tokens)")"
                + "; ids up to \(v.requiredVocabularySize - 1)"
        )
        let padSource =
            padId != nil ? "" : (trainer?.padToken.map { " (\($0), the pad id the trainer masks)" } ?? " (EOS \(text.eosToken ?? "?"))")
        print("pad id      \(v.padId)\(padSource)")
    }
}
