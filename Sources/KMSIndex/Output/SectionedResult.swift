/// A result made of named tables (`kmsindex key`, `kmsindex usage`).
///
/// Table format prints each section under a `== name ==` header; JSON is one object with an
/// array per section; CSV and TSV are one table whose first column is `section`, with the
/// columns of every section (empty where a section has no such column); NDJSON is one object
/// per row, `section` first, with that section's columns.
package struct SectionedResult: Sendable, Equatable {
    /// One named table.
    package struct Section: Sendable, Equatable {
        package var name: String
        package var table: ResultTable

        package init(_ name: String, _ table: ResultTable) {
            self.name = name
            self.table = table
        }
    }

    package var sections: [Section]

    package init(_ sections: [Section]) { self.sections = sections }

    /// The section named `name`.
    package subscript(name: String) -> ResultTable? { sections.first { $0.name == name }?.table }

    /// True when no section has a row.
    package var isEmpty: Bool { sections.allSatisfy { $0.table.cells.isEmpty } }

    /// The result rendered in `format`, escaped as `ResultTable.render` escapes.
    package func render(_ format: OutputFormat) -> String {
        switch format {
        case .table:
            return sections.map { section in
                let body = section.table.cells.isEmpty ? "(none)\n" : section.table.render(.table)
                return "== \(TerminalText.escape(section.name)) ==\n" + body
            }.joined(separator: "\n")
        case .json:
            if sections.isEmpty { return "{}\n" }
            let members = sections.map { section -> String in
                let objects = section.table.jsonObjects()
                let array = objects.isEmpty ? "[]" : "[\n" + objects.map { "    " + $0 }.joined(separator: ",\n") + "\n  ]"
                return "  " + JSONText.quoted(section.name) + ": " + array
            }
            return "{\n" + members.joined(separator: ",\n") + "\n}\n"
        case .ndjson:
            return sections.map { $0.withSectionColumn(columns: ["section"] + $0.table.columns).render(.ndjson) }.joined()
        case .csv, .tsv:
            var columns = ["section"]
            for section in sections {
                for column in section.table.columns where !columns.contains(column) { columns.append(column) }
            }
            var all = ResultTable(columns: columns, cells: [])
            for section in sections { all.cells += section.withSectionColumn(columns: columns).cells }
            return all.render(format)
        }
    }
}

extension SectionedResult.Section {
    /// The section's rows laid out under `columns` (which start with `section`).
    func withSectionColumn(columns: [String]) -> ResultTable {
        let positions = table.columns.map { columns.firstIndex(of: $0)! }
        let cells = table.cells.map { row -> [Cell] in
            var out = [Cell](repeating: .null, count: columns.count)
            out[0] = .text(name)
            for (i, value) in row.enumerated() where i < positions.count { out[positions[i]] = value }
            return out
        }
        return ResultTable(columns: columns, cells: cells)
    }
}
