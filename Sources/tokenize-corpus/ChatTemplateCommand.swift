import ArgumentParser
import Corpus
import Foundation
import Tokenizer

/// `--date 2026-11-30`: the day a trainer's `strftime_now` would read.
struct DayOption: ExpressibleByArgument {
    let date: Date
    init?(argument: String) {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd"
        guard let date = formatter.date(from: argument) else { return nil }
        self.date = date
    }
}

struct ChatTemplateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chat-template",
        abstract: "Show what a trainer's chat template adds to every row: the rendered text, its ids, and their count.",
        discussion: """
            Renders the tokenizer's chat template (or --chat-template FILE) for the conversation LLaSA_training and \
            unsloth's loader build around each row, as transformers' apply_chat_template does, and tokenizes it. \
            With --variables FILE (a JSON object: messages, tools, add_generation_prompt, ...), renders that instead. \
            Prints one JSON object: text, ids, and overhead (the ids a row gains).
            """)

    @OptionGroup var tokenizer: TokenizerOption
    @Option(help: "A Jinja chat template file, instead of the tokenizer's.") var chatTemplate: String?
    @Option(help: "The day strftime_now reads (YYYY-MM-DD, UTC; default today).") var date: DayOption?
    @Option(help: "Render these variables (a JSON object) instead of the trainers' conversation.") var variables: String?

    func run() throws {
        let text = try tokenizer.load()
        let template = try text.trainerChatTemplate(override: chatTemplate)
        let day = date?.date ?? Date()
        var result: [String: Any] = [:]
        if let variables {
            guard let data = FileManager.default.contents(atPath: variables),
                let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
            else { throw CommandFailure("\(variables): not a JSON object") }
            var context = object
            for (name, token) in text.specialTokens where context[name] == nil { context[name] = token }
            let rendered = try template.render(variables: context, date: day)
            result = ["text": rendered, "ids": text.encode(rendered).map(Int.init)]
        } else {
            let vocabulary = try LlasaVocabulary.installed(on: text, padId: nil)
            let wrapped = try TrainerTemplate(tokenizer: text, vocabulary: vocabulary, template: template, date: day)
            result = ["text": wrapped.rendered, "ids": wrapped.ids.map(Int.init), "overhead": wrapped.overhead]
        }
        let json = try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys, .withoutEscapingSlashes])
        print(String(decoding: json, as: UTF8.self))
    }
}
