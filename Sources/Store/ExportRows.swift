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
    public init(filter: String, removed: Int) {
        self.filter = filter
        self.removed = removed
    }
}

/// The `export_rows` view that filters and `--where` see: one row per done utterance.
public enum ExportRows {
    /// Documented columns (README); extra manifest fields are added as columns of their own names.
    public static let columns = [
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

/// A filter SQLite refused (a `--where` naming no column, say), with the columns there are.
public struct ExportFilterError: Error, CustomStringConvertible {
    public let description: String
}

/// The done rows an export's filters keep, counted filter by filter (`StoreSnapshot.exportQuery`).
public struct ExportQuery {
    /// Done utterances before any filter.
    public internal(set) var doneRows = 0
    /// How many rows each filter removed, in the order they apply.
    public internal(set) var filterCounts: [FilterCount] = []
    var commonTableExpression = ""
    var whereClause = "1"
    var arguments = StatementArguments()

    public init() {}
}

/// What an export decides a row's place by, without its text or codes.
public struct ExportOutline: Sendable, FetchableRecord {
    public var rowid: Int64, speaker: String?, duration: Double, numFrames: Int, textBytes: Int

    public init(row: Row) {
        rowid = row["_rowid"]
        speaker = row[UtteranceColumn.speaker]
        duration = row[UtteranceColumn.duration]
        numFrames = row[UtteranceColumn.numFrames]
        textBytes = row["bytes"]
    }
}

/// A row an export writes (`text`: the transcript, as `export_rows` and `--where` name it).
public struct ExportRecord: Sendable, FetchableRecord {
    public var id: String, text: String, speaker: String?, duration: Double, codes: [Int32]

    public init(row: Row) {
        id = row[UtteranceColumn.id]
        text = StoreSnapshot.text(row["text"])
        speaker = row[UtteranceColumn.speaker]
        duration = row[UtteranceColumn.duration]
        codes = CodeBlob.decode(row[UtteranceColumn.codes])
    }
}

extension StoreSnapshot {
    /// The done rows, then each filter applied in turn and counted; with no done row, no filter is tried.
    public func exportQuery(filters: ExportFilters) throws -> ExportQuery {
        var query = ExportQuery()
        query.commonTableExpression = try ExportRows.commonTableExpression(db)
        func count(_ clause: String, _ arguments: StatementArguments) throws -> Int {
            try Int.fetchOne(
                db, sql: "\(query.commonTableExpression) SELECT COUNT(*) FROM export_rows WHERE \(clause)", arguments: arguments) ?? 0
        }
        query.doneRows = try count("1", [])
        guard query.doneRows > 0 else { return query }
        var clauses: [String] = []
        var previous = query.doneRows
        for predicate in filters.predicates {
            clauses.append(predicate.sql)
            query.arguments += predicate.arguments
            let remaining: Int
            do {
                remaining = try count(clauses.joined(separator: " AND "), query.arguments)
            } catch let error as DatabaseError {
                throw ExportFilterError(
                    description:
                        "\(predicate.name): \(error.message ?? "\(error)") (columns: \(ExportRows.columns.joined(separator: ", ")), and the extra fields)"
                )
            }
            query.filterCounts.append(FilterCount(filter: predicate.name, removed: previous - remaining))
            previous = remaining
        }
        query.whereClause = clauses.isEmpty ? "1" : clauses.joined(separator: " AND ")
        return query
    }

    /// The rows `query` keeps, in store order, as outlines.
    public func forEachOutline(_ query: ExportQuery, _ body: (ExportOutline) throws -> Void) throws {
        let rows = try ExportOutline.fetchCursor(
            db,
            sql: """
                \(query.commonTableExpression) SELECT _rowid, speaker, duration, num_frames, length(CAST(text AS BLOB)) AS bytes
                FROM export_rows WHERE \(query.whereClause) ORDER BY _rowid
                """, arguments: query.arguments)
        while let row = try rows.next() { try body(row) }
    }

    /// The rows `query` keeps, in store order, whole.
    public func forEachRecord(_ query: ExportQuery, _ body: (ExportRecord) throws -> Void) throws {
        let rows = try ExportRecord.fetchCursor(
            db,
            sql: """
                \(query.commonTableExpression) SELECT id, CAST(text AS BLOB) AS text, speaker, duration, codes FROM export_rows
                WHERE \(query.whereClause) ORDER BY _rowid
                """, arguments: query.arguments)
        while let row = try rows.next() { try body(row) }
    }

    /// Reads rows by rowid (an export's prompts, its overflow checks) through one prepared statement.
    public func recordsByRowid() throws -> RecordsByRowid {
        RecordsByRowid(
            statement: try db.makeStatement(
                sql: "SELECT id, CAST(transcript AS BLOB) AS text, speaker, duration, codes FROM utterances WHERE rowid = ?"),
            textStatement: try db.makeStatement(sql: "SELECT CAST(transcript AS BLOB) FROM utterances WHERE rowid = ?"))
    }
}

/// `StoreSnapshot.recordsByRowid`: a row by its rowid.
public struct RecordsByRowid {
    let statement: Statement
    let textStatement: Statement

    /// Only the transcript ("" for an unknown rowid).
    public func text(_ rowid: Int64) throws -> String { StoreSnapshot.text(try Data.fetchOne(textStatement, arguments: [rowid])) }

    public func record(_ rowid: Int64) throws -> ExportRecord? {
        try ExportRecord.fetchOne(statement, arguments: [rowid])
    }
}
