import ArgumentParser
import Corpus
import Foundation
import Tokenizer

struct TextTokensCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "text-tokens",
        abstract: "Tokenise lines of stdin; print one JSON array of ids per line.",
        discussion: """
            The ids are those of Hugging Face tokenizers' encode(line, add_special_tokens=False): added tokens \
            written in the text are recognised, no BOS is prepended. A line ends at \\n or \\r\\n.
            """)

    @OptionGroup var tokenizer: TokenizerOption

    @Flag(help: "Each input line is a JSON string literal (for texts holding newlines).")
    var jsonStrings = false

    func run() throws {
        let tokenizer = try tokenizer.load()
        let out = FileHandle.standardOutput
        var buffer = "", lineNumber = 0, ids: [Int32] = []
        while let line = readLine(strippingNewline: true) {
            lineNumber += 1
            // readLine strips LF and CRLF; a UTF-8 BOM can only start the first line.
            var text = lineNumber == 1 && line.hasPrefix("\u{FEFF}") ? String(line.dropFirst()) : line
            if jsonStrings {
                guard let decoded = try? JSONDecoder().decode(String.self, from: Data(text.utf8)) else {
                    throw ValidationError("stdin:\(lineNumber): not a JSON string literal")
                }
                text = decoded
            }
            ids.removeAll(keepingCapacity: true)
            tokenizer.encode(text, into: &ids)
            buffer += "[" + ids.map(String.init).joined(separator: ",") + "]\n"
            if buffer.utf8.count > 1 << 16 { out.write(Data(buffer.utf8)); buffer = "" }
        }
        out.write(Data(buffer.utf8))
    }
}
