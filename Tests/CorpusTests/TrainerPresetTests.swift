import Corpus
import Foundation
import Store
import Tokenizer
import XCTest

/// The fixtures of scripts/reference/make_trainer_fixtures.py: chat templates rendered by transformers, and which
/// rows the trainers' own loaders (at pinned commits) keep the end token of.
enum TrainerFixtures {
    static let folder = TestEnv.repo.appendingPathComponent("Tests/CorpusTests/Fixtures/trainers")
    static let template = folder.appendingPathComponent("templates/dated.jinja").path
    /// The day the reference pinned strftime_now to.
    static let day = date("2026-11-30")

    struct Utterance: Decodable {
        var id: String, text: String, speaker: String, numCodes: Int
        enum CodingKeys: String, CodingKey { case id, text, speaker, numCodes = "num_codes" }
    }
    struct Verdicts: Decodable {
        var overhead: [String: Int]
        var beforeEnd: [String: Int]
        var keepsEnd: [String: [Bool]]
        enum CodingKeys: String, CodingKey { case overhead, beforeEnd = "before_end", keepsEnd = "keeps_end" }
    }

    static let utterances: [Utterance] = {
        let data = try! Data(contentsOf: folder.appendingPathComponent("utterances.jsonl"))
        return data.split(separator: UInt8(ascii: "\n")).map { try! JSONDecoder().decode(Utterance.self, from: Data($0)) }
    }()
    static let verdicts = try! JSONDecoder().decode(
        Verdicts.self, from: Data(contentsOf: folder.appendingPathComponent("loader-verdicts.json")))

    /// Code j of utterance i, as the script generates them.
    static func codes(_ i: Int, _ n: Int) -> [Int32] { (0..<n).map { Int32((i * 7919 + $0 * 104729) % 65536) } }

    static func date(_ day: String) -> Date {
        let formatter = ISO8601DateFormatter()
        return formatter.date(from: day + "T12:00:00Z")!
    }

    static func makeStore(in directory: URL) throws -> String {
        let path = directory.appendingPathComponent("store.sqlite").path
        let store = try Store(path: path)
        try store.ingest(
            utterances.map { ManifestEntry(id: $0.id, source: "fixture", audioPath: $0.id + ".wav", text: $0.text, speaker: $0.speaker) },
            problems: [])
        try store.commit(
            utterances.enumerated().map { i, u in
                UtteranceResult(
                    id: u.id, outcome: .done(codes: codes(i, u.numCodes), duration: Double(u.numCodes) / 50, sampleRate: 16000))
            })
        return path
    }
}

final class ChatTemplateTests: XCTestCase {
    struct Case: Decodable { var template: String, date: String, text: String?, ids: [Int32]?, error: String? }

    /// Every case of template-cases.json: the text transformers' apply_chat_template rendered, and its ids.
    func testTemplatesRenderAsTransformersDoes() throws {
        let data = try Data(contentsOf: TrainerFixtures.folder.appendingPathComponent("template-cases.json"))
        let cases = try JSONDecoder().decode([Case].self, from: data)
        let raw = try JSONSerialization.jsonObject(with: data) as! [[String: Any]]
        let tokenizer = try TextTokenizer.load(try TokenizerTests.tokenizerFolder("small-llasa"))
        XCTAssertGreaterThanOrEqual(cases.count, 24)
        for (i, c) in cases.enumerated() {
            let source = try String(contentsOf: TrainerFixtures.folder.appendingPathComponent("templates/" + c.template), encoding: .utf8)
            var variables = raw[i]["variables"] as! [String: Any]
            for (name, token) in tokenizer.specialTokens where variables[name] == nil { variables[name] = token }
            let label = "case \(i) (\(c.template), \(c.date))"
            do {
                let text = try ChatTemplate(source).render(variables: variables, date: TrainerFixtures.date(c.date))
                XCTAssertNil(c.error, "\(label): transformers raised \(c.error ?? "")")
                XCTAssertEqual(text, c.text, label)
                XCTAssertEqual(tokenizer.encode(text), c.ids, label)
            } catch {
                XCTAssertNotNil(c.error, "\(label): \(error)")
            }
        }
    }

    /// A construct outside the subset is refused when the template is parsed, not rendered some other way.
    func testUnsupportedConstructsAreRefused() {
        for source in ["{% macro m() %}x{% endmacro %}", "{{ x | wordwrap }}", "{% generation %}x{% endgeneration %}", "{{ 'a' "] {
            XCTAssertThrowsError(try ChatTemplate(source).render(messages: []), source)
        }
        XCTAssertThrowsError(try ChatTemplate("{{ raise_exception('no') }}").render(messages: [])) {
            XCTAssertTrue("\($0)".contains("no"))
        }
    }
}

final class TrainerPresetTests: XCTestCase {
    static let tokenizerPath = try! TokenizerTests.tokenizerFolder("small-llasa")

    func export(_ trainer: TrainerPreset?, store: String, to out: URL, valSize: Int? = nil) throws -> ExportSummary {
        let tokenizer = try TextTokenizer.load(Self.tokenizerPath)
        var options = ExportOptions(format: .llasa)
        options.valSize = valSize ?? (trainer == .unsloth ? 0 : 12)
        if let trainer {
            options.trainer = trainer
            options.overflow = trainer.cutsText ? .cutText : .drop
            options.padId = try trainer.padId(tokenizer: tokenizer)
            let vocabulary = try LlasaVocabulary(tokenizer: tokenizer, padId: options.padId)
            tokenizer.addTokens(LlasaVocabulary.taskTokens.map { ($0, vocabulary.taskTokenIds[$0]!) })
            options.trainerTemplate = try TrainerTemplate(
                tokenizer: tokenizer, vocabulary: vocabulary,
                template: try tokenizer.trainerChatTemplate(override: TrainerFixtures.template),
                date: TrainerFixtures.day)
        }
        return try Exporter.export(store: try Store(path: store, access: .read), tokenizer: tokenizer, options: options, to: out.path)
    }

    func loader(_ trainer: TrainerPreset) throws -> TrainerLoader {
        let tokenizer = try TextTokenizer.load(Self.tokenizerPath)
        let vocabulary = try LlasaVocabulary(tokenizer: tokenizer, padId: try trainer.padId(tokenizer: tokenizer))
        tokenizer.addTokens(LlasaVocabulary.taskTokens.map { ($0, vocabulary.taskTokenIds[$0]!) })
        let template = try TrainerTemplate(
            tokenizer: tokenizer, vocabulary: vocabulary, template: try tokenizer.trainerChatTemplate(override: TrainerFixtures.template),
            date: TrainerFixtures.day)
        return TrainerLoader(preset: trainer, template: template, vocabulary: vocabulary, trainerPad: vocabulary.padId, length: 2048)
    }

    /// The template's ids as the trainers' loaders counted them.
    func testTemplateOverheadIsTheLoaders() throws {
        for trainer in TrainerPreset.allCases {
            let template = try loader(trainer).template
            XCTAssertEqual(template.overhead, TrainerFixtures.verdicts.overhead[trainer.rawValue], trainer.rawValue)
            XCTAssertEqual(template.overheadBeforeEnd, TrainerFixtures.verdicts.beforeEnd[trainer.rawValue], trainer.rawValue)
        }
    }

    /// Each preset keeps exactly the rows whose end token the trainer's own loader keeps (none dropped that would
    /// have fitted), names its files as the loader looks for them, and passes check-export.
    func testPresetsKeepWhatTheLoadersKeep() throws {
        let dir = TestEnv.temporaryDirectory("presets")
        let store = try TrainerFixtures.makeStore(in: dir)
        let ids = TrainerFixtures.utterances.map(\.id)
        for trainer in TrainerPreset.allCases {
            let out = dir.appendingPathComponent(trainer.rawValue)
            let summary = try export(trainer, store: store, to: out)
            let kept = Set(summary.ids.train + summary.ids.val)
            let fits = Set(zip(ids, TrainerFixtures.verdicts.keepsEnd[trainer.rawValue]!).filter(\.1).map(\.0))
            if trainer.cutsText {
                let beforeEnd = TrainerFixtures.verdicts.beforeEnd[trainer.rawValue]!
                let speechFits = Set(TrainerFixtures.utterances.filter { $0.numCodes + 5 + beforeEnd <= 2048 }.map(\.id))
                XCTAssertEqual(kept, speechFits, trainer.rawValue)
                XCTAssertEqual(summary.textCutRows, speechFits.subtracting(fits).count, trainer.rawValue)
                XCTAssertGreaterThan(summary.textCutRows, 0)
            } else {
                XCTAssertEqual(kept, fits, trainer.rawValue)
                XCTAssertEqual(summary.droppedRows, ids.count - fits.count)
            }
            let report = try ExportCheck.run(folder: out.path, loader: try loader(trainer))
            XCTAssertTrue(report.passed, "\(trainer.rawValue): \(report.missing) \(report.ignored) \(report.losingEnd.count)")
            XCTAssertEqual(report.rows, kept.count, trainer.rawValue)
            let files = Set(try FileManager.default.contentsOfDirectory(atPath: out.path))
            switch trainer {
            case .llasaTraining: XCTAssertTrue(files.isSuperset(of: ["train_input_ids.memmap", "val_input_ids_shape.npy"]))
            case .unsloth:
                XCTAssertTrue(files.isSuperset(of: ["input_ids.memmap", "input_ids_shape.npy"]))
                XCTAssertFalse(files.contains { $0.hasPrefix("val") || $0.hasPrefix("train") })
            case .llasaMultigpu:
                XCTAssertTrue(files.isSuperset(of: ["train_rank0_partial0_input_ids.memmap", "train_rank1_partial0_input_ids_shape.npy"]))
                let alias = try FileManager.default.attributesOfItem(atPath: out.appendingPathComponent("test_input_ids.memmap").path)
                let rank0 = try FileManager.default.attributesOfItem(
                    atPath: out.appendingPathComponent("test_rank0_partial0_input_ids.memmap").path)
                XCTAssertEqual(alias[.systemFileNumber] as? Int, rank0[.systemFileNumber] as? Int, "the eval alias is a hard link")
                XCTAssertEqual(report.files.filter(\.eval).map(\.rows), [summary.rows.val])
            }
            let info =
                try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("export_info.json"))) as! [String: Any]
            XCTAssertEqual(info["trainer"] as? String, trainer.rawValue)
            XCTAssertEqual(info["trainer_template_tokens"] as? Int, TrainerFixtures.verdicts.beforeEnd[trainer.rawValue])
            let card = try String(contentsOf: out.appendingPathComponent("README.md"), encoding: .utf8)
            XCTAssertTrue(card.contains("--trainer \(trainer.rawValue)"), trainer.rawValue)
            XCTAssertFalse(card.contains(dir.path), "the card names the store by its file name, not the machine's path")
            XCTAssertTrue(card.contains("from the store `store.sqlite`"), card)
        }
    }

    /// check-export on the plain `--format llasa` export flags exactly the rows the trainer's loader cuts the end
    /// token off, and finds no files for the trainers that name theirs otherwise.
    func testCheckExportFlagsThePlainExport() throws {
        let dir = TestEnv.temporaryDirectory("plain")
        let store = try TrainerFixtures.makeStore(in: dir)
        let out = dir.appendingPathComponent("plain")
        let summary = try export(nil, store: store, to: out, valSize: 0)
        let report = try ExportCheck.run(folder: out.path, loader: try loader(.llasaTraining))
        let flagged = Set(report.losingEnd.map { summary.ids.train[$0.row] })
        let verdict = Dictionary(
            uniqueKeysWithValues: zip(TrainerFixtures.utterances.map(\.id), TrainerFixtures.verdicts.keepsEnd["llasa-training"]!))
        let expected = Set(summary.ids.train.filter { !verdict[$0]! })
        XCTAssertEqual(flagged, expected)
        XCTAssertGreaterThan(expected.count, 10)
        XCTAssertFalse(report.passed)
        for trainer in [TrainerPreset.llasaMultigpu, .unsloth] {
            let other = try ExportCheck.run(folder: out.path, loader: try loader(trainer))
            XCTAssertFalse(other.missing.isEmpty, trainer.rawValue)
            XCTAssertEqual(other.ignored, ["train_input_ids.memmap"], trainer.rawValue)
        }
    }

    /// The loader's padding rule: a row padded with an id the trainer does not mask, read raw (unsloth's fallback when
    /// the markers are out of order), trains on its padding.
    func testPaddingTrainedOnIsCounted() throws {
        let unsloth = try loader(.unsloth)
        let v = unsloth.vocabulary
        let eot = v.padId + 5  // any id that is not the trainer's pad
        let t = v.taskTokenIds
        var row: [Int32] = [t["<|TEXT_UNDERSTANDING_END|>"]!, 40, t["<|TEXT_UNDERSTANDING_START|>"]!, t["<|SPEECH_GENERATION_START|>"]!]
        row += [v.speechBase, v.speechBase + 1, t["<|SPEECH_GENERATION_END|>"]!] + Array(repeating: eot, count: 20)
        let loaded = unsloth.load(row[...])
        XCTAssertTrue(loaded.raw)
        XCTAssertTrue(loaded.keepsEnd)
        XCTAssertEqual(loaded.trainedPadding, 20)
        // In order and padded with the trainer's pad: wrapped, nothing after the end but the template's <|eot_id|>.
        row.swapAt(0, 2)
        row.replaceSubrange(7..., with: Array(repeating: v.padId, count: 20))
        let wrapped = unsloth.load(row[...])
        XCTAssertFalse(wrapped.raw)
        XCTAssertEqual(wrapped.trainedPadding, 0)
        XCTAssertEqual(wrapped.ids.count, row.count - 20 + unsloth.template.overhead)
    }

    /// The command line: exit 1 with the loss on the plain export, 0 on the preset; refusals in one line.
    func testCommandLine() throws {
        let dir = TestEnv.temporaryDirectory("cli")
        let store = try TrainerFixtures.makeStore(in: dir)
        let common = ["--store", store, "--tokenizer", Self.tokenizerPath, "--chat-template", TrainerFixtures.template]
        let window = ["--train-from", "2026-11-30", "--train-days", "1"]
        XCTAssertEqual(
            try TestEnv.run(
                ["export"] + common + ["--format", "llasa", "--val-size", "0", "--out", dir.appendingPathComponent("plain").path]
            ).status, 0)
        let preset = try TestEnv.run(
            ["export"] + common + window + ["--trainer", "llasa-training", "--out", dir.appendingPathComponent("preset").path])
        XCTAssertEqual(preset.status, 0, preset.stderr)
        XCTAssertTrue(preset.stdout.contains("its chat template adds 70 ids before the end token"), preset.stdout)
        let check = [
            "--trainer", "llasa-training", "--tokenizer", Self.tokenizerPath, "--chat-template", TrainerFixtures.template, "--date",
            "2026-11-30",
        ]
        let bad = try TestEnv.run(["check-export", dir.appendingPathComponent("plain").path] + check)
        XCTAssertEqual(bad.status, 1)
        XCTAssertTrue(bad.stdout.contains("lose <|SPEECH_GENERATION_END|>"), bad.stdout)
        XCTAssertTrue(bad.stdout.contains("transformers "), bad.stdout)
        let good = try TestEnv.run(["check-export", dir.appendingPathComponent("preset").path] + check)
        XCTAssertEqual(good.status, 0, good.stdout + good.stderr)
        // A trainer environment with transformers 5: warned of (apply_chat_template returns a BatchEncoding there).
        let python = dir.appendingPathComponent("python-tf5")
        try "#!/bin/sh\necho 5.2.0\n".write(to: python, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: python.path)
        let warned = try TestEnv.run(["check-export", dir.appendingPathComponent("preset").path] + check + ["--python", python.path])
        XCTAssertTrue(warned.stdout.contains("transformers 5.2.0") && warned.stdout.contains("need transformers < 5"), warned.stdout)
        let unknown = try TestEnv.run(
            ["check-export", dir.appendingPathComponent("preset").path] + check + ["--python", "/nonexistent/python"])
        XCTAssertTrue(unknown.stdout.contains("transformers unknown"), unknown.stdout)
        let refused = [
            (["--trainer", "unsloth", "--format", "jsonl"], "does not go with it"),
            (["--trainer", "unsloth", "--overflow", "truncate"], "sets the overflow rule"),
            (["--trainer", "unsloth", "--val-size", "3"], "has no eval split"),
        ]
        for (extra, message) in refused {
            let r = try TestEnv.run(["export"] + common + extra + ["--out", dir.appendingPathComponent("refused").path])
            XCTAssertNotEqual(r.status, 0, extra.joined(separator: " "))
            XCTAssertTrue(r.stderr.contains(message), r.stderr)
        }
        let noTemplate = try TestEnv.run([
            "export", "--store", store, "--tokenizer", Self.tokenizerPath, "--trainer", "llasa-training", "--out",
            dir.appendingPathComponent("x").path,
        ])
        XCTAssertNotEqual(noTemplate.status, 0)
        XCTAssertTrue(noTemplate.stderr.contains("no chat template"), noTemplate.stderr)
    }
}
