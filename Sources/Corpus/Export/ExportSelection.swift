import Foundation
import GRDB

/// Which done utterances an export takes. Applied in order in the export's one read of the store, each filter's
/// removals counted; every format sees the same rows.
public struct ExportFilters: Sendable, Equatable {
    public var minDuration: Double?
    public var maxDuration: Double?
    public var speakers: [String]?
    public var excludeSpeakers: [String]?
    public var languages: [String]?
    public var minCharsPerSecond: Double?
    public var maxCharsPerSecond: Double?
    /// An SQL expression over the `export_rows` view (`ExportRows.columns` and the extra manifest fields).
    public var whereSQL: String?

    public init() {}

    /// (name as the user wrote it, SQL over export_rows, arguments), in the order they apply.
    var predicates: [(name: String, sql: String, arguments: StatementArguments)] {
        var result: [(String, String, StatementArguments)] = []
        func json(_ list: [String]) -> String { String(decoding: try! JSONSerialization.data(withJSONObject: list), as: UTF8.self) }
        if let minDuration { result.append(("--min-duration \(minDuration)", "duration >= ?", [minDuration])) }
        if let maxDuration { result.append(("--max-duration \(maxDuration)", "duration <= ?", [maxDuration])) }
        if let speakers {
            result.append(("--speakers (\(speakers.count))", "speaker IN (SELECT value FROM json_each(?))", [json(speakers)]))
        }
        if let excludeSpeakers {
            result.append(
                (
                    "--exclude-speakers (\(excludeSpeakers.count))",
                    "(speaker IS NULL OR speaker NOT IN (SELECT value FROM json_each(?)))",
                    [json(excludeSpeakers)]
                ))
        }
        if let languages {
            result.append(
                ("--languages \(languages.joined(separator: ","))", "language IN (SELECT value FROM json_each(?))", [json(languages)]))
        }
        if let minCharsPerSecond {
            result.append(("--min-chars-per-second \(minCharsPerSecond)", "chars_per_second >= ?", [minCharsPerSecond]))
        }
        if let maxCharsPerSecond {
            result.append(("--max-chars-per-second \(maxCharsPerSecond)", "chars_per_second <= ?", [maxCharsPerSecond]))
        }
        if let whereSQL { result.append(("--where \(whereSQL)", "(\(whereSQL))", [])) }
        return result
    }
}

/// How many rows one filter (or the overflow policy) removed, for the summary and `export_info.json`.
public struct FilterCount: Codable, Sendable, Equatable {
    public var filter: String
    public var removed: Int
}

/// The `export_rows` view that filters and `--where` see: one row per done utterance.
enum ExportRows {
    /// Documented columns (README); extra manifest fields are added as columns of their own names.
    static let columns = [
        "id", "text", "speaker", "duration", "num_frames", "sample_rate", "audio_path", "source", "chars", "chars_per_second",
        "language", "fields",
    ]

    /// `WITH export_rows AS (...)` for this store: the extra field names are read from the store first.
    static func commonTableExpression(_ db: Database) throws -> String {
        let keys = try String.fetchAll(
            db,
            sql: """
                SELECT DISTINCT j.key FROM utterances, json_each(utterances.fields) AS j
                WHERE utterances.status = \(UtteranceStatus.done.sql) AND utterances.fields IS NOT NULL ORDER BY j.key
                """)
        let plain = keys.filter { key in
            !columns.contains(key) && key.first.map { $0.isLetter || $0 == "_" } == true
                && key.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }
        }
        let extra = plain.map { ", json_extract(fields, '$.\($0)') AS \"\($0)\"" }.joined()
        return """
            WITH export_rows AS (
                SELECT rowid AS _rowid, id, transcript AS text, speaker, duration, num_frames, sample_rate, audio_path, source,
                    length(transcript) AS chars, length(transcript) / duration AS chars_per_second,
                    json_extract(fields, '$.language') AS language, fields, codes\(extra)
                FROM utterances WHERE status = \(UtteranceStatus.done.sql))
            """
    }
}

/// The rows an export writes, decided before any is written: the filters, the split, the prompts and the overflow
/// drops. Kept per row: its rowid, split position, prompt and whether it is dropped; not its text or codes.
struct ExportSelection {
    var filterCounts: [FilterCount] = []
    /// Done utterances before any filter.
    var doneRows = 0
    /// rowid of each selected row, store order.
    var rowids: [Int64] = []
    /// Index (into `rowids`) of each row's prompt, -1 for none.
    var prompts: [Int32] = []
    /// Rows with a speaker but no other utterance of theirs in the prompt range within their split.
    var rowsWithoutPrompt = 0
    /// Permuted positions of dropped rows, per split (train, val), sorted.
    var droppedPositions: [[Int]] = [[], []]
    var trainCount = 0, valCount = 0
    var permutation = RowPermutation(count: 0, seed: 0)
    /// The WHERE clause of every filter, and its arguments, for the streaming query.
    var whereClause = "1"
    var arguments = StatementArguments()
    var cte = ""

    var selected: Int { rowids.count }
    var dropped: Int { droppedPositions[0].count + droppedPositions[1].count }

    /// Leaves the selected row `index` out of its split.
    mutating func drop(index: Int) {
        let position = permutation(index)
        if position < trainCount { droppedPositions[0].append(position) } else { droppedPositions[1].append(position - trainCount) }
    }

    /// The split and the position within it of selected row `index`; nil when dropped.
    func place(_ index: Int) -> (split: Int, position: Int)? {
        let p = permutation(index)
        let (split, position) = p < trainCount ? (0, p) : (1, p - trainCount)
        let drops = droppedPositions[split]
        // Binary search: how many dropped rows come before this one, to close the gaps they leave.
        var (low, high) = (0, drops.count)
        while low < high {
            let mid = (low + high) / 2
            if drops[mid] < position { low = mid + 1 } else { high = mid }
        }
        if low < drops.count && drops[low] == position { return nil }
        return (split, position - low)
    }
}
