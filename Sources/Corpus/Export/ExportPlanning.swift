import Foundation
import Store
import Tokenizer

/// What to do with a sequence longer than `--max-length`.
public enum OverflowPolicy: String, CaseIterable, Sendable, Codable {
    /// Cut at --max-length, as LLaSA_training's get_memmap_from_token.py does (the end token is lost).
    case truncate
    /// Leave the row out, and count it.
    case drop
    /// Keep the speech whole and cut the transcript's end to fit (unsloth's rule); a row whose speech alone does
    /// not fit, with one text token, is left out.
    case cutText = "cut-text"
}

/// `--prompt same-speaker`: each row starts with another utterance of its speaker, from its own split.
public struct PromptOptions: Sendable, Equatable, Codable {
    public var minDuration = 3.0
    public var maxDuration = 10.0
    public init() {}

    enum CodingKeys: String, CodingKey {
        case minDuration = "min_duration", maxDuration = "max_duration"
    }
}

extension ExportSelection {
    /// Decides the export's rows in the read transaction `snapshot`: filters (each counted), the split, prompts, and
    /// which rows overflow under `drop`. Only rows that might overflow (UTF-8 bytes of the text, an upper bound
    /// of its tokens, plus the codes) are tokenized here; the rest cost one index scan.
    static func make(_ snapshot: StoreSnapshot, options: ExportOptions, builder: inout LlasaSequenceBuilder) throws -> ExportSelection {
        var s = ExportSelection()
        do {
            s.query = try snapshot.exportQuery(filters: options.filters)
        } catch let error as ExportFilterError {
            throw ExportError(error.description)
        }
        s.doneRows = s.query.doneRows
        guard s.doneRows > 0 else { throw ExportError("\(snapshot.path): no encoded utterances to export") }
        s.filterCounts = s.query.filterCounts

        // Pass one: what each selected row is, without its text or codes.
        var speakers: [Int32] = [], durations: [Float] = [], frames: [Int32] = [], textBytes: [Int32] = []
        var speakerIndex: [String: Int32] = [:]
        try snapshot.forEachOutline(s.query) { row in
            s.rowids.append(row.rowid)
            if let speaker = row.speaker {
                if speakerIndex[speaker] == nil { speakerIndex[speaker] = Int32(speakerIndex.count) }
                speakers.append(speakerIndex[speaker]!)
            } else {
                speakers.append(-1)
            }
            durations.append(Float(row.duration))
            frames.append(Int32(row.numFrames))
            textBytes.append(Int32(row.textBytes))
        }
        let total = s.rowids.count
        guard total > 0 else { throw ExportError("\(snapshot.path): the filters leave no utterance to export") }
        s.valCount = options.valSize ?? Exporter.defaultValSize(rows: total)
        guard s.valCount >= 0 && s.valCount < total else {
            throw ExportError(
                "--val-size \(s.valCount) is outside 0...\(total - 1): \(total) utterances are selected and train needs one")
        }
        s.trainCount = total - s.valCount
        s.permutation = RowPermutation(count: total, seed: options.seed)
        let split = (0..<total).map { s.permutation($0) < s.trainCount ? Split.train : .val }

        // Prompts: among the speaker's utterances in the duration range, in the same split, seeded per row.
        s.prompts = [Int32](repeating: -1, count: total)
        if let prompt = options.prompt {
            var candidates = PerSplit<[Int32: [Int32]]>(repeating: [:])  // per split, by speaker
            for i in 0..<total where speakers[i] >= 0 {
                let seconds = Double(durations[i])
                if seconds >= prompt.minDuration && seconds <= prompt.maxDuration {
                    candidates[split[i]][speakers[i], default: []].append(Int32(i))
                }
            }
            for i in 0..<total where speakers[i] >= 0 {
                let pool = candidates[split[i]][speakers[i]] ?? []
                let others = pool.count - (pool.contains(Int32(i)) ? 1 : 0)
                guard others > 0 else {
                    s.rowsWithoutPrompt += 1
                    continue
                }
                var generator = SplitMix64(seed: options.seed ^ UInt64(bitPattern: s.rowids[i]) &* 0x9E37_79B9_7F4A_7C15)
                var k = Int(generator.next() % UInt64(others))
                // The k-th candidate other than the row itself.
                if let own = pool.firstIndex(of: Int32(i)), k >= own { k += 1 }
                s.prompts[i] = pool[k]
            }
            s.rowsWithoutPrompt += speakers.filter { $0 < 0 }.count
        }

        // Overflow: rows whose bound exceeds --max-length are tokenized to know; only `drop` needs to know now.
        let limit = options.rowLimit
        if options.overflow == .cutText {
            for i in 0..<total {
                let p = Int(s.prompts[i])
                // The task tokens, one text token and the codes: the shortest the row can be cut to.
                let floor = 5 + Int(frames[i]) + (p >= 0 ? Int(frames[p]) : 0)
                if floor > limit { s.drop(index: i) }
            }
            s.droppedPositions = s.droppedPositions.map { $0.sorted() }
        }
        if options.overflow == .drop {
            let byRowid = try snapshot.recordsByRowid()
            func transcript(_ index: Int) throws -> String { try byRowid.text(s.rowids[index]) }
            for i in 0..<total {
                let p = Int(s.prompts[i])
                var bound = Int(textBytes[i]) + Int(frames[i]) + 4
                if p >= 0 { bound += Int(textBytes[p]) + 1 + Int(frames[p]) }
                guard bound > limit else { continue }
                let joined = p >= 0 ? try transcript(p) + " " + transcript(i) : try transcript(i)
                builder.build(text: joined, codes: [])
                let length = builder.ids.count + Int(frames[i]) + (p >= 0 ? Int(frames[p]) : 0)
                if length > limit { s.drop(index: i) }
            }
            s.droppedPositions = s.droppedPositions.map { $0.sorted() }
        }
        return s
    }
}
