import ArgumentParser
import Corpus
import Foundation
import Tokenizer

struct CheckExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-export",
        abstract: "Read an export as a trainer's loader will, and report the rows it would break.",
        discussion: """
            Whatever made the export: rebuilds every row the way the trainer's dataset class does (its file names, its \
            chat template wrapped around the row, its cut to 2048, its pad id masked from the labels) and reports rows \
            that lose <|SPEECH_GENERATION_END|>, speech ids out of range, padding that would be trained on, files the \
            trainer will not find and memmaps it will ignore. Exits 1 if any. Point it at an old export to learn \
            whether a past training run was hurt (--date: the day it ran, for the template's date).
            """)

    @Argument(help: "The export folder.") var folder: String
    @Option(help: ArgumentHelp("llasa-training, llasa-multigpu or unsloth.", valueName: "name")) var trainer: TrainerPreset
    @OptionGroup var tokenizer: TokenizerOption
    @Option(help: "The trainer's chat template (a Jinja file), instead of the tokenizer's.") var chatTemplate: String?
    @Option(help: "The day the trainer runs or ran (YYYY-MM-DD; default today): the template renders it.") var date: DayOption?
    @Option(help: "The length the loader cuts wrapped rows to.") var maxLength = TrainerPreset.loaderLength
    @Option(help: "The trainer's pad id, if its tokenizer's differs from the preset's.") var padId: Int32?
    @Option(help: "The Python the trainer runs in, to check its transformers version.") var python = "python3"

    func run() throws {
        let text = try tokenizer.load()
        let vocabulary = try LlasaVocabulary.installed(on: text, padId: try padId ?? trainer.padId(tokenizer: text))
        let day = date?.date ?? Date()
        let template = try TrainerTemplate(
            tokenizer: text, vocabulary: vocabulary, template: try text.trainerChatTemplate(override: chatTemplate), date: day)
        let loader = TrainerLoader(
            preset: trainer, template: template, vocabulary: vocabulary, trainerPad: vocabulary.padId, length: maxLength)
        let report = try ExportCheck.run(folder: folder, loader: loader)

        print("check-export \(folder) as \(trainer.summary)")
        print(
            "template    \(template.overhead) ids added to every row (rendered for \(TemplateDate.day(day))); pad id \(vocabulary.padId) masked"
        )
        for file in report.files { print("file        \(file.name): \(file.rows) rows x \(file.width)\(file.eval ? " (eval)" : "")") }
        for line in report.missing { print("missing     \(line)") }
        for name in report.ignored { print("ignored     \(name): the trainer never opens it") }
        let share = report.rows > 0 ? String(format: " (%.1f%%)", Double(report.losingEnd.count) * 100 / Double(report.rows)) : ""
        print("rows        \(report.rows) read: \(report.losingEnd.count) lose <|SPEECH_GENERATION_END|>\(share)")
        for (file, row) in report.losingEnd.prefix(3) { print("example     \(file) row \(row) loses the end token") }
        if report.failingRows > 0 {
            print("failing     \(report.failingRows) rows have no <|SPEECH_GENERATION_START|>: the loader raises")
        }
        if report.rawRows > 0 {
            print("raw         \(report.rawRows) rows are read without the chat template (the markers are out of order)")
        }
        print("speech      \(report.rowsWithSpeechOutOfRange) rows with ids outside the speech range")
        print("padding     \(report.rowsTrainingPadding) rows train on \(report.paddingIdsTrained) pad ids after the end token")
        print("transformers \(TransformersVersion.verdict(python: python))")
        guard report.passed else {
            throw CommandFailure("\(folder): the export is not safe for \(trainer.rawValue) (see above)")
        }
        print("result      ok: every row keeps its end token, nothing trains on padding")
    }
}
