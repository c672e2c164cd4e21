import Foundation

/// The `README.md` of an export folder: the Hub's dataset card. Its YAML header names the files of each split and
/// their features, as `datasets.load_dataset(folder)` and the Hub's viewer read them; the prose says what made
/// the data. Formats `datasets` cannot read (llasa memmaps, Megatron) get the prose and `viewer: false`.
enum DatasetCard {
    static func text(_ summary: ExportSummary) -> String {
        var yaml = ["---", "license: other", "task_categories:", "- text-to-speech", "tags:", "- xcodec2", "- llasa", "- speech-tokens"]
        var features: [(String, String)]
        switch summary.format {
        case .parquet:
            features = [
                ("id", "dtype: string"), ("text", "dtype: string"), ("speaker", "dtype: string"), ("duration", "dtype: float64"),
                ("codes", "list: int32"), ("input_ids", "list: int32"),
            ]
        case .jsonl:
            features = [
                ("id", "dtype: string"), ("input_ids", "list: int64"), ("text_tokens", "dtype: int64"),
                ("speech_tokens", "dtype: int64"), ("truncated", "dtype: bool"),
            ]
        case .llasa, .megatron:
            features = []
        }
        if summary.prompt != nil && !features.isEmpty { features.append(("prompt_id", "dtype: string")) }
        if features.isEmpty {
            yaml.append("viewer: false")
        } else {
            // No `configs` with data_files: `datasets` keys its cache on those patterns, not on the files, so a re-export
            // into the same folder would load the previous rows. Without them it finds the splits from the file names
            // (train*, val*) and keys on the files themselves.
            yaml += ["dataset_info:", "  features:"]
            for (name, type) in features { yaml += ["  - name: \(name)", "    \(type)"] }
        }
        yaml.append("---")

        var prose = ["", "# X-Codec2 tokens for Llasa", ""]
        prose.append(
            "Made by `tokenize-corpus export "
                + (summary.trainer.map { "--trainer \($0.rawValue)" } ?? "--format \(summary.format.rawValue)")
                + "` from the store `\((summary.store as NSString).lastPathComponent)`: "
                + "speech encoded with the X-Codec2 model `\(summary.model ?? "?")`\(modelDetails(summary)) "
                + "(65536 codes, 50 per second of 16 kHz audio), "
                + "text tokenized with `\(summary.tokenizer)`.")
        prose.append("")
        prose.append(
            "Each sequence is `<|TEXT_UNDERSTANDING_START|>` transcript `<|TEXT_UNDERSTANDING_END|><|SPEECH_GENERATION_START|>` "
                + "speech tokens `<|SPEECH_GENERATION_END|>` (speech token of code c: \(summary.vocabulary.speechBase) + c), at most "
                + "\(summary.maxLength - (summary.trainerTemplateTokens ?? 0)) ids; longer ones were "
                + ["drop": "left out", "truncate": "cut at that length", "cut-text": "kept with their transcript's end cut to fit"][
                    summary.overflow.rawValue]! + "."
                + (summary.prompt.map {
                    " Each row starts with another utterance of its speaker (\(String(format: "%g", $0.minDuration))-"
                        + "\(String(format: "%g", $0.maxDuration)) s, same split): the transcripts joined with a space, the prompt's "
                        + "speech tokens before the target's."
                } ?? ""))
        if let trainer = summary.trainer, let added = summary.trainerTemplateTokens {
            prose.append("")
            prose.append(
                "Written for \(trainer.summary) (`--trainer \(trainer.rawValue)`): its loader wraps each row in the tokenizer's chat "
                    + "template, which adds \(added) ids before the end token, and cuts the result to \(summary.maxLength); every row here still ends in "
                    + "`<|SPEECH_GENERATION_END|>` after that. Pad id \(summary.vocabulary.padId), the one the trainer masks. "
                    + "`tokenize-corpus check-export` re-checks the folder as that loader reads it.")
        }
        if [.llasa, .jsonl].contains(summary.format) {
            prose.append("")
            prose.append(
                "LLaSA_training's `TTSDataset` and unsloth's Llasa notebook add the tokenizer's chat template at load time "
                    + "with `apply_chat_template(..., tokenize=True)`, indexed as a list: they need transformers < 5 (from 5 on "
                    + "that call returns a `BatchEncoding`), and the template's tokens come on top of these rows.")
        }
        prose += ["", "| | rows |", "| --- | --- |", "| done utterances in the store | \(summary.doneRows) |"]
        if summary.pendingRows > 0 { prose.append("| not encoded yet (pending) in the store, not exported | \(summary.pendingRows) |") }
        if summary.failedRows > 0 { prose.append("| failed in the store, not exported | \(summary.failedRows) |") }
        for filter in summary.filters {
            prose.append("| removed by `\(filter.filter.replacingOccurrences(of: "|", with: "\\|"))` | \(filter.removed) |")
        }
        let limit = "\(summary.maxLength - (summary.trainerTemplateTokens ?? 0)) ids"
        if summary.overflow == .drop { prose.append("| removed by `--overflow drop` (over \(limit)) | \(summary.droppedRows) |") }
        if summary.overflow == .cutText {
            prose.append("| transcript cut to fit \(limit) | \(summary.textCutRows) |")
            prose.append("| removed: speech alone over \(limit) | \(summary.droppedRows) |")
        }
        prose.append("| train | \(summary.rows.train) |")
        prose.append("| validation | \(summary.rows.val) |")
        if summary.overflow == .truncate { prose.append("| cut at \(summary.maxLength) ids | \(summary.truncatedRows) |") }
        if summary.prompt != nil {
            prose.append("| with a prompt | \(summary.rowsWithPrompt) |")
            prose.append("| without (no other utterance of the speaker in range) | \(summary.rowsWithoutPrompt) |")
        }
        prose += [
            "",
            "Tokens: \(summary.tokens) written (text \(summary.textTokens), speech \(summary.speechTokens)). Seed \(summary.seed). "
                + "`export_info.json` holds the token ids and the utterance ids of each split.", "",
        ]
        return (yaml + prose).joined(separator: "\n")
    }

    /// ` (revision R, original layout, fingerprint F)`: which checkpoint made the codes, as the store recorded it.
    static func modelDetails(_ summary: ExportSummary) -> String {
        let details = [
            summary.modelRevision.map { "revision `\($0)`" }, summary.modelLayout.map { "\($0) layout" },
            summary.modelFingerprint.map { "fingerprint `\($0)`" },
        ].compactMap { $0 }
        return details.isEmpty ? "" : " (" + details.joined(separator: ", ") + ")"
    }
}
