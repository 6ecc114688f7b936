//! Products and stock counts as spreadsheets (CSV), in and out.
//!
//! Why this file is long: two file kinds share one reader (header, separators, line numbers,
//! cell checks, locale-aware numbers) that only makes sense together, and its tests name
//! every error code with its line, so they stay next to the rules they pin down.
//!
//! Shops keep catalogues in Excel. Ukrainian Excel writes `;` between cells and `,` as the
//! decimal mark; other tools write `,` and `.`. Reading accepts both (the separator is
//! detected from the header line, the decimal mark from each number), so nobody has to
//! change their locale to import a file.
//!
//! Imports are all-or-nothing: a parser returns every row or every error (up to
//! [`MAX_ERRORS`]), each naming the file's real line (the header is line 1), so a shop fixes
//! the whole file in one go and a half-applied import never happens.

use std::collections::HashSet;
use std::str::FromStr;

use rust_decimal::Decimal;

crate::text_enum! {
    /// How an exported file is written.
    pub enum SheetFormat {
        /// `,` between cells, `.` in numbers.
        Plain,
        /// Ukrainian Excel: `;` between cells, `,` in numbers, a byte-order mark first.
        Excel,
    }
}

/// Products columns, in export order.
pub const PRODUCT_COLUMNS: [&str; 7] = [
    "sku",
    "name",
    "unit",
    "price",
    "unit_cost",
    "barcode",
    "tracks_stock",
];
/// Stock count columns, in export order.
pub const COUNT_COLUMNS: [&str; 3] = ["sku", "warehouse", "quantity"];
/// The most data rows one file may have, so one import stays one bounded transaction;
/// more is a single error on line 1 (code `too_many_rows`).
pub const MAX_ROWS: usize = 20_000;
/// The most characters one cell may have (code `too_long`), so a pasted blob is refused.
pub const MAX_FIELD_CHARS: usize = 500;
/// The most errors one parse reports: enough to fix a file, bounded for a broken one.
pub const MAX_ERRORS: usize = 100;

/// Numbers must stay below this (code `too_large`).
const LIMIT_DIGITS: usize = 12;
/// Numbers have at most this many decimal places (code `too_precise`).
const MAX_SCALE: usize = 4;
/// What Excel needs first to read a UTF-8 file (and Cyrillic) correctly.
const BOM: char = '\u{feff}';
/// Spaces a number may group its thousands with (incl. non-breaking ones Excel writes).
const SPACES: [char; 3] = [' ', '\u{a0}', '\u{202f}'];

/// One product row of an import or export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductRow {
    pub line: usize,
    pub sku: String,
    pub name: String,
    pub unit: Option<String>,
    pub price: Option<Decimal>,
    pub unit_cost: Option<Decimal>,
    pub barcode: Option<String>,
    pub tracks_stock: Option<bool>,
}

/// One counted quantity of a SKU in a warehouse (by name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CountRow {
    pub line: usize,
    pub sku: String,
    pub warehouse: String,
    pub quantity: Decimal,
}

/// One problem, on one line of the file, so the shop knows where to look.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LineError {
    pub line: usize,
    pub column: Option<String>,
    pub code: &'static str,
    pub value: Option<String>,
}

/// How a file is written: separator and decimal mark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dialect {
    pub separator: u8,
    pub decimal_comma: bool,
}

impl Dialect {
    /// `,` between cells, `.` in numbers: what most tools write.
    pub const PLAIN: Dialect = Dialect {
        separator: b',',
        decimal_comma: false,
    };
    /// `;` between cells, `,` in numbers: what Ukrainian Excel writes and opens by double-click.
    pub const EXCEL_UK: Dialect = Dialect {
        separator: b';',
        decimal_comma: true,
    };
}

/// A cell's value as an error may quote it: at most `max` characters, control characters
/// (NUL included) written as `\u{..}`, so a message never carries what it quotes raw.
pub fn quoted(value: &str, max: usize) -> String {
    value
        .chars()
        .take(max)
        .map(|c| {
            if c.is_control() {
                format!("\\u{{{:x}}}", u32::from(c))
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// Reads a products file: every row, or every error.
pub fn parse_products(text: &str) -> Result<Vec<ProductRow>, Vec<LineError>> {
    let mut skus = HashSet::new();
    read(text, &PRODUCT_COLUMNS, &["sku", "name"], |row| {
        let sku = row.required("sku");
        if !sku.is_empty() && !skus.insert(sku.clone()) {
            row.fail("sku", "duplicate_sku", Some(&sku));
        }
        ProductRow {
            line: row.line,
            name: row.required("name"),
            unit: row.optional("unit"),
            price: row.decimal("price", false),
            unit_cost: row.decimal("unit_cost", false),
            barcode: row.optional("barcode"),
            tracks_stock: row.yes_no("tracks_stock"),
            sku,
        }
    })
}

/// Reads a stock count file: every row, or every error. A warehouse matches
/// case-insensitively (people type names), a SKU exactly (SKUs are unique as written).
pub fn parse_counts(text: &str) -> Result<Vec<CountRow>, Vec<LineError>> {
    let mut seen = HashSet::new();
    read(text, &COUNT_COLUMNS, &COUNT_COLUMNS, |row| {
        let sku = row.required("sku");
        let warehouse = row.required("warehouse");
        let quantity = row.decimal("quantity", true).unwrap_or_default();
        if !sku.is_empty()
            && !warehouse.is_empty()
            && !seen.insert((sku.clone(), warehouse.to_lowercase()))
        {
            let pair = format!("{sku} / {warehouse}");
            row.fail_line("duplicate_count", Some(&pair));
        }
        CountRow {
            line: row.line,
            sku,
            warehouse,
            quantity,
        }
    })
}

/// Writes products, header first, in the given dialect. Parsing the result gives the rows
/// back (cells are trimmed on reading, so surrounding spaces are not kept).
pub fn write_products(rows: &[ProductRow], dialect: Dialect) -> String {
    let number = |d: Option<Decimal>| d.map(|d| format_decimal(d, dialect)).unwrap_or_default();
    write(
        dialect,
        &PRODUCT_COLUMNS,
        rows.iter().map(|r| {
            vec![
                guarded(&r.sku),
                guarded(&r.name),
                guarded(r.unit.as_deref().unwrap_or_default()),
                number(r.price),
                number(r.unit_cost),
                guarded(r.barcode.as_deref().unwrap_or_default()),
                r.tracks_stock.map(|b| b.to_string()).unwrap_or_default(),
            ]
        }),
    )
}

/// Writes stock counts, header first, in the given dialect.
pub fn write_counts(rows: &[CountRow], dialect: Dialect) -> String {
    write(
        dialect,
        &COUNT_COLUMNS,
        rows.iter().map(|r| {
            vec![
                guarded(&r.sku),
                guarded(&r.warehouse),
                format_decimal(r.quantity, dialect),
            ]
        }),
    )
}

/// The characters that make a spreadsheet read a cell as a formula.
const FORMULA_START: [char; 4] = ['=', '+', '-', '@'];

/// A text cell as written: one a spreadsheet would run as a formula (a product name
/// `=HYPERLINK(…)` from a keyCRM order) gets a leading `'`, which Excel shows as text and
/// reading a file takes off again.
fn guarded(text: &str) -> String {
    if text.starts_with(FORMULA_START) {
        format!("'{text}")
    } else {
        text.to_owned()
    }
}

/// A text cell as read: the guard [`guarded`] adds comes off.
fn unguarded(cell: &str) -> &str {
    cell.strip_prefix('\'')
        .filter(|rest| rest.starts_with(FORMULA_START))
        .unwrap_or(cell)
}

fn format_decimal(value: Decimal, dialect: Dialect) -> String {
    let text = value.normalize().to_string();
    if dialect.decimal_comma {
        text.replace('.', ",")
    } else {
        text
    }
}

/// Writes a table; a file for Excel (`;` or decimal comma) starts with a BOM.
fn write(dialect: Dialect, header: &[&str], rows: impl Iterator<Item = Vec<String>>) -> String {
    let table = || -> csv::Result<Vec<u8>> {
        let mut writer = csv::WriterBuilder::new()
            .delimiter(dialect.separator)
            .from_writer(Vec::new());
        writer.write_record(header)?;
        for row in rows {
            writer.write_record(&row)?;
        }
        writer.into_inner().map_err(|e| e.into_error().into())
    };
    // Writing into memory cannot fail, and every cell is UTF-8.
    let body = String::from_utf8(table().unwrap_or_default()).unwrap_or_default();
    if dialect.separator == b';' || dialect.decimal_comma {
        format!("{BOM}{body}")
    } else {
        body
    }
}

/// Errors found so far, at most [`MAX_ERRORS`].
#[derive(Default)]
struct Errors(Vec<LineError>);

impl Errors {
    fn push(&mut self, line: usize, column: Option<&str>, code: &'static str, value: Option<&str>) {
        if !self.full() {
            self.0.push(LineError {
                line,
                column: column.map(str::to_owned),
                code,
                value: value.map(|v| v.chars().take(MAX_FIELD_CHARS).collect()),
            });
        }
    }

    fn full(&self) -> bool {
        self.0.len() >= MAX_ERRORS
    }
}

/// One data row's trimmed cells, by known column, while it is being converted.
struct Row<'a> {
    line: usize,
    columns: &'a [&'static str],
    cells: &'a [&'a str],
    errors: &'a mut Errors,
    ok: bool,
}

impl<'a> Row<'a> {
    fn fail(&mut self, column: &str, code: &'static str, value: Option<&str>) {
        self.ok = false;
        self.errors.push(self.line, Some(column), code, value);
    }

    fn fail_line(&mut self, code: &'static str, value: Option<&str>) {
        self.ok = false;
        self.errors.push(self.line, None, code, value);
    }

    /// The cell, possibly empty; `None` (and an error) if it holds what no cell may.
    fn text(&mut self, column: &str) -> Option<&'a str> {
        let cells = self.cells;
        let cell = self
            .columns
            .iter()
            .position(|c| *c == column)
            .map_or("", |i| cells[i]);
        if cell.chars().any(char::is_control) {
            self.fail(column, "control_character", None);
            None
        } else if cell.chars().count() > MAX_FIELD_CHARS {
            self.fail(column, "too_long", None);
            None
        } else {
            Some(unguarded(cell))
        }
    }

    fn required(&mut self, column: &str) -> String {
        match self.text(column) {
            Some("") => {
                self.fail(column, "required", None);
                String::new()
            }
            cell => cell.unwrap_or_default().to_owned(),
        }
    }

    fn optional(&mut self, column: &str) -> Option<String> {
        self.text(column)
            .filter(|c| !c.is_empty())
            .map(str::to_owned)
    }

    /// A non-negative amount in either notation; `None` when empty (or wrong).
    fn decimal(&mut self, column: &str, required: bool) -> Option<Decimal> {
        let cell = if required {
            Some(self.required(column)).filter(|c| !c.is_empty())?
        } else {
            self.optional(column)?
        };
        match parse_decimal(&cell) {
            Ok(value) if value < Decimal::ZERO => self.fail(column, "negative", Some(&cell)),
            Ok(value) => return Some(value),
            Err(code) => self.fail(column, code, Some(&cell)),
        }
        None
    }

    fn yes_no(&mut self, column: &str) -> Option<bool> {
        let cell = self.optional(column)?;
        match cell.to_lowercase().as_str() {
            "true" | "yes" | "1" | "так" | "y" | "t" => Some(true),
            "false" | "no" | "0" | "ні" | "n" | "f" => Some(false),
            _ => {
                self.fail(column, "not_a_yes_no", Some(&cell));
                None
            }
        }
    }
}

/// Reads a number written `12.5`, `12,5`, `1 234,50`, `1.234,5` or `1,234.5`: the last `.`
/// or `,` is the decimal mark, and the other one (or a space) may group thousands in threes.
/// A lone mark is always decimal (`1,234` is 1.234), as Excel with a decimal comma means it.
fn parse_decimal(text: &str) -> Result<Decimal, &'static str> {
    const NAN: &str = "not_a_number";
    let (sign, unsigned) = match text.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", text),
    };
    let (whole, fraction, thousands) = match unsigned.rfind(['.', ',']) {
        Some(at) => {
            let mark = unsigned.as_bytes()[at];
            let other = if mark == b'.' { ',' } else { '.' };
            let (whole, fraction) = (&unsigned[..at], &unsigned[at + 1..]);
            if whole.contains(char::from(mark)) || fraction.is_empty() {
                return Err(NAN);
            }
            (whole, fraction, Some(other))
        }
        None => (unsigned, "", None),
    };
    let groups: Vec<&str> = whole
        .split(|c| SPACES.contains(&c) || Some(c) == thousands)
        .collect();
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let grouped = groups.iter().skip(1).all(|g| g.len() == 3)
        && groups
            .first()
            .is_some_and(|g| groups.len() == 1 || g.len() <= 3);
    if !groups.iter().all(|g| digits(g)) || !grouped || !(fraction.is_empty() || digits(fraction)) {
        return Err(NAN);
    }
    let whole = groups.concat();
    let whole = whole.trim_start_matches('0');
    let fraction = fraction.trim_end_matches('0');
    if whole.len() > LIMIT_DIGITS {
        return Err("too_large");
    }
    if fraction.len() > MAX_SCALE {
        return Err("too_precise");
    }
    Decimal::from_str(&format!("{sign}0{whole}.{fraction}0"))
        .map(|d| d.normalize())
        .map_err(|_| NAN)
}

/// The separator, from the header line: `;` if it has one, else a tab, else `,`.
fn separator(text: &str) -> u8 {
    let header = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    if header.contains(';') {
        b';'
    } else if header.contains('\t') {
        b'\t'
    } else {
        b','
    }
}

/// Turns the reader's byte offsets into the file's line numbers (the reader's own line count
/// leaves out blank lines and lags behind `\r\n`).
struct Lines<'t> {
    text: &'t str,
    at: usize,
    line: usize,
}

impl Lines<'_> {
    /// The line that something starting at `position` (or after line breaks there) is on.
    fn of(&mut self, position: Option<&csv::Position>) -> usize {
        let bytes = self.text.as_bytes();
        let byte = position.map_or(0, |p| usize::try_from(p.byte()).unwrap_or(usize::MAX));
        let mut start = byte.min(bytes.len());
        start += bytes[start..]
            .iter()
            .take_while(|b| matches!(b, b'\r' | b'\n'))
            .count();
        if start > self.at {
            self.line += bytes[self.at..start]
                .iter()
                .filter(|b| **b == b'\n')
                .count();
            self.at = start;
        }
        self.line
    }
}

fn blank(record: &csv::StringRecord) -> bool {
    record.iter().all(|c| c.trim().is_empty())
}

fn error(line: usize, code: &'static str) -> Vec<LineError> {
    let mut errors = Errors::default();
    errors.push(line, None, code, None);
    errors.0
}

/// Maps each header cell to its known column; trailing blank header cells are ignored.
fn header(
    record: &csv::StringRecord,
    line: usize,
    columns: &[&'static str],
    required: &[&'static str],
) -> Result<Vec<Option<usize>>, Vec<LineError>> {
    let names: Vec<&str> = record.iter().map(str::trim).collect();
    let used = names
        .iter()
        .rposition(|n| !n.is_empty())
        .map_or(0, |i| i + 1);
    let mut errors = Errors::default();
    let mut slots = Vec::new();
    for name in &names[..used] {
        let key = name.to_lowercase().replace([' ', '-'], "_");
        let known = columns.iter().position(|c| *c == key);
        match known {
            None => errors.push(line, None, "unknown_column", Some(name)),
            Some(i) if slots.contains(&Some(i)) => {
                errors.push(line, Some(columns[i]), "duplicate_column", Some(name))
            }
            Some(_) => {}
        }
        slots.push(known);
    }
    for column in required {
        if !slots.iter().flatten().any(|&i| columns[i] == *column) {
            errors.push(line, Some(column), "missing_column", None);
        }
    }
    if errors.0.is_empty() {
        Ok(slots)
    } else {
        Err(errors.0)
    }
}

/// Reads a table: header, then every non-blank row through `convert`.
fn read<T>(
    text: &str,
    columns: &[&'static str],
    required: &[&'static str],
    mut convert: impl FnMut(&mut Row<'_>) -> T,
) -> Result<Vec<T>, Vec<LineError>> {
    let text = text.strip_prefix(BOM).unwrap_or(text);
    let mut lines = Lines {
        text,
        at: 0,
        line: 1,
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(separator(text))
        .from_reader(text.as_bytes());
    // A reader of text in memory has nothing to fail on; should it anyway, the file is refused.
    let mut records = reader
        .records()
        .filter(|r| r.as_ref().map_or(true, |r| !blank(r)));
    let slots = match records.next() {
        None => return Err(error(1, "empty")),
        Some(Err(e)) => return Err(error(lines.of(e.position()), "malformed")),
        Some(Ok(first)) => header(&first, lines.of(first.position()), columns, required)?,
    };
    let mut errors = Errors::default();
    let mut rows = Vec::new();
    let mut count = 0;
    for record in records {
        let record = match record {
            Ok(record) => record,
            Err(e) => {
                errors.push(lines.of(e.position()), None, "malformed", None);
                break;
            }
        };
        count += 1;
        if count > MAX_ROWS {
            return Err(error(1, "too_many_rows"));
        }
        let line = lines.of(record.position());
        if record
            .iter()
            .skip(slots.len())
            .any(|c| !c.trim().is_empty())
        {
            errors.push(line, None, "too_many_cells", None);
            continue;
        }
        let mut cells = vec![""; columns.len()];
        for (slot, cell) in slots.iter().zip(record.iter()) {
            if let Some(i) = slot {
                cells[*i] = cell.trim();
            }
        }
        let mut row = Row {
            line,
            columns,
            cells: &cells,
            errors: &mut errors,
            ok: true,
        };
        let value = convert(&mut row);
        if row.ok {
            rows.push(value);
        }
        if errors.full() {
            break;
        }
    }
    if count == 0 && errors.0.is_empty() {
        return Err(error(1, "empty"));
    }
    if errors.0.is_empty() {
        Ok(rows)
    } else {
        Err(errors.0)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn cells_a_spreadsheet_would_run_as_formulas_are_written_as_text_and_read_back() {
        let row = ProductRow {
            line: 2,
            sku: "-12".into(),
            name: "=HYPERLINK(\"http://x\")".into(),
            unit: Some("@unit".into()),
            price: None,
            unit_cost: None,
            barcode: Some("+380".into()),
            tracks_stock: None,
        };
        for dialect in [Dialect::PLAIN, Dialect::EXCEL_UK] {
            let text = write_products(std::slice::from_ref(&row), dialect);
            assert!(
                text.contains("'=HYPERLINK") && text.contains("'-12"),
                "{text}"
            );
            assert_eq!(parse_products(&text).unwrap(), vec![row.clone()]);
        }
    }

    #[test]
    fn a_quoted_value_carries_no_control_character() {
        assert_eq!(quoted("a\0b\u{18}c", 10), "a\\u{0}b\\u{18}c");
        assert_eq!(quoted("абв", 2), "аб");
    }

    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn codes(errors: &[LineError]) -> Vec<(usize, &'static str)> {
        errors.iter().map(|e| (e.line, e.code)).collect()
    }

    fn product_errors(text: &str) -> Vec<(usize, &'static str)> {
        codes(&parse_products(text).unwrap_err())
    }

    fn count_errors(text: &str) -> Vec<(usize, &'static str)> {
        codes(&parse_counts(text).unwrap_err())
    }

    fn product(line: usize, sku: &str, name: &str) -> ProductRow {
        ProductRow {
            line,
            sku: sku.into(),
            name: name.into(),
            unit: None,
            price: None,
            unit_cost: None,
            barcode: None,
            tracks_stock: None,
        }
    }

    #[test]
    fn ukrainian_excel_semicolons_and_decimal_commas_are_read() {
        let text = "sku;name;unit;price;unit_cost;barcode;tracks_stock\r\n\
                    A-1;Чашка біла;шт;12,5;7,25;4820000000001;так\r\n";
        let rows = parse_products(text).unwrap();
        assert_eq!(
            rows,
            vec![ProductRow {
                unit: Some("шт".into()),
                price: Some(d("12.5")),
                unit_cost: Some(d("7.25")),
                barcode: Some("4820000000001".into()),
                tracks_stock: Some(true),
                ..product(2, "A-1", "Чашка біла")
            }]
        );
    }

    #[test]
    fn plain_commas_and_decimal_points_are_read() {
        let rows = parse_counts("sku,warehouse,quantity\nA-1,Main,3.50\nB-2,Main,0\n").unwrap();
        assert_eq!(rows[0].quantity, d("3.5"));
        assert_eq!(rows[0].quantity.scale(), 1, "normalized");
        assert_eq!((rows[1].line, rows[1].quantity), (3, Decimal::ZERO));
    }

    #[test]
    fn tab_separated_files_are_read() {
        let rows = parse_counts("sku\twarehouse\tquantity\nA-1\tMain\t2,5\n").unwrap();
        assert_eq!(rows[0].quantity, d("2.5"));
    }

    #[test]
    fn a_leading_bom_is_ignored() {
        let rows = parse_products("\u{feff}sku;name\nA;Ложка\n").unwrap();
        assert_eq!(rows, vec![product(2, "A", "Ложка")]);
    }

    #[test]
    fn a_quoted_decimal_comma_is_read_with_a_comma_separator() {
        let rows = parse_products("sku,name,price\nA,\"Cup, big\",\"1,5\"\n").unwrap();
        assert_eq!(rows[0].name, "Cup, big");
        assert_eq!(rows[0].price, Some(d("1.5")));
    }

    #[test]
    fn thousands_separators_are_removed() {
        for (text, value) in [
            ("1 234,50", "1234.5"),
            ("1\u{a0}234,5", "1234.5"),
            ("1\u{202f}234\u{202f}567", "1234567"),
            ("1.234,5", "1234.5"),
            ("1,234.5", "1234.5"),
            ("1,234", "1.234"),
            ("12", "12"),
            ("0,0001", "0.0001"),
            ("2.50000", "2.5"),
            ("-0", "0"),
            ("0000000000000000000000000000000000007,10", "7.1"),
        ] {
            assert_eq!(parse_decimal(text), Ok(d(value)), "{text}");
        }
        for text in [
            "1.234.5", "12 5", "1,,5", "1.", ",5", "abc", "1e5", "1_000", "+1", "- 1",
        ] {
            assert_eq!(parse_decimal(text), Err("not_a_number"), "{text}");
        }
    }

    #[test]
    fn header_names_match_loosely_and_in_any_order() {
        let rows = parse_products(" Name ;SKU;Unit-Cost;tracks stock\nЧашка;A;3;no\n").unwrap();
        assert_eq!(
            rows,
            vec![ProductRow {
                unit_cost: Some(d("3")),
                tracks_stock: Some(false),
                ..product(2, "A", "Чашка")
            }]
        );
    }

    #[test]
    fn unknown_duplicated_and_missing_columns_are_reported_on_line_1() {
        let errors = parse_products("sku;colour;sku\nA;red;A\n").unwrap_err();
        let unknown = &errors[0];
        assert_eq!((unknown.line, unknown.code), (1, "unknown_column"));
        assert_eq!(unknown.value.as_deref(), Some("colour"));
        assert_eq!(
            codes(&errors[1..]),
            [(1, "duplicate_column"), (1, "missing_column")]
        );
        assert_eq!(errors[2].column.as_deref(), Some("name"));
        let errors = parse_counts("sku,quantity\nA,1\n").unwrap_err();
        assert_eq!(codes(&errors), [(1, "missing_column")]);
        assert_eq!(errors[0].column.as_deref(), Some("warehouse"));
    }

    #[test]
    fn empty_input_or_a_lone_header_is_empty() {
        for text in ["", "\u{feff}", "\n \n", "sku;name\n", "sku;name\n;\n\n"] {
            assert_eq!(product_errors(text), [(1, "empty")], "{text:?}");
        }
    }

    #[test]
    fn blank_lines_are_skipped_and_later_lines_keep_their_numbers() {
        let text = "sku;name;price\n\nA;Cup;1\n   \n;;\nB;Plate;x\n";
        let errors = parse_products(text).unwrap_err();
        assert_eq!(codes(&errors), [(6, "not_a_number")]);
        assert_eq!(errors[0].column.as_deref(), Some("price"));
        assert_eq!(errors[0].value.as_deref(), Some("x"));
        for text in [
            "sku;name\nA;Cup\n\n\nB;Plate\n",
            "sku;name\r\nA;Cup\r\n\r\n\r\nB;Plate",
        ] {
            let rows = parse_products(text).unwrap();
            assert_eq!(rows.iter().map(|r| r.line).collect::<Vec<_>>(), [2, 5]);
        }
    }

    #[test]
    fn every_bad_line_is_reported_not_just_the_first() {
        let text = "sku,warehouse,quantity\nA,Main,-1\nB,Main,2\nC,,3\n";
        assert_eq!(count_errors(text), [(2, "negative"), (4, "required")]);
    }

    #[test]
    fn numbers_out_of_bounds_are_refused() {
        let text = "sku;name;price;unit_cost\nA;a;-0,5;1\nB;b;1,23456;1\nC;c;1000000000000;1\n\
                    D;d;999999999999,9999;-0\n";
        assert_eq!(
            product_errors(text),
            [(2, "negative"), (3, "too_precise"), (4, "too_large")]
        );
        let errors = count_errors("sku;warehouse;quantity\nA;Main;-2\nB;Main;0,00001\n");
        assert_eq!(errors, [(2, "negative"), (3, "too_precise")]);
    }

    #[test]
    fn bad_cells_are_reported_with_their_column() {
        let long = "x".repeat(MAX_FIELD_CHARS + 1);
        let fits = "ї".repeat(MAX_FIELD_CHARS);
        let text = format!(
            "sku;name;tracks_stock\n;a;\nB;{long};\nC;\"two\nlines\";\nD;a\u{1}b;\nE;e;maybe\nF;{fits};Так\n"
        );
        let errors = parse_products(&text).unwrap_err();
        assert_eq!(
            codes(&errors),
            [
                (2, "required"),
                (3, "too_long"),
                (4, "control_character"),
                (6, "control_character"),
                (7, "not_a_yes_no"),
            ]
        );
        let columns: Vec<_> = errors.iter().map(|e| e.column.as_deref()).collect();
        assert_eq!(
            columns,
            [
                Some("sku"),
                Some("name"),
                Some("name"),
                Some("name"),
                Some("tracks_stock")
            ]
        );
    }

    #[test]
    fn yes_no_words_in_english_and_ukrainian_are_read() {
        let mut text = String::from("sku;name;tracks_stock\n");
        let words = [
            "true", "YES", "1", "Так", "y", "T", "false", "No", "0", "НІ", "n", "f", "",
        ];
        for (i, word) in words.iter().enumerate() {
            text.push_str(&format!("S{i};n;{word}\n"));
        }
        let read: Vec<_> = parse_products(&text)
            .unwrap()
            .iter()
            .map(|r| r.tracks_stock)
            .collect();
        let mut expected = vec![Some(true); 6];
        expected.extend([Some(false); 6]);
        expected.push(None);
        assert_eq!(read, expected);
    }

    #[test]
    fn a_repeated_sku_is_reported_on_its_second_line() {
        let errors = parse_products("sku;name\nA;Cup\nB;Plate\nA;Cup again\n").unwrap_err();
        assert_eq!(codes(&errors), [(4, "duplicate_sku")]);
        assert_eq!(errors[0].value.as_deref(), Some("A"));
        assert!(
            parse_products("sku;name\nA;Cup\na;Cup\n").is_ok(),
            "SKUs are exact"
        );
    }

    #[test]
    fn a_repeated_count_matches_warehouses_case_insensitively() {
        let text = "sku;warehouse;quantity\nA;Main;1\nA;Shop;1\nA;main;2\n";
        assert_eq!(count_errors(text), [(4, "duplicate_count")]);
    }

    #[test]
    fn extra_cells_are_refused_but_missing_ones_read_as_empty() {
        let text = "sku;name;unit\nA;Cup\nB;Plate;pc;extra\nC;Bowl;pc;;\n";
        assert_eq!(product_errors(text), [(3, "too_many_cells")]);
        let rows = parse_products("sku;name;unit\nA;Cup\n").unwrap();
        assert_eq!(rows, vec![product(2, "A", "Cup")]);
    }

    #[test]
    fn more_rows_than_the_limit_is_one_error() {
        let mut text = String::from("sku;name\n");
        for i in 0..=MAX_ROWS {
            text.push_str(&format!("S{i};n\n"));
        }
        assert_eq!(product_errors(&text), [(1, "too_many_rows")]);
    }

    #[test]
    fn error_collection_stops_at_the_limit() {
        let mut text = String::from("sku;name\n");
        for _ in 0..150 {
            text.push_str(";n\n");
        }
        let errors = parse_products(&text).unwrap_err();
        assert_eq!(errors.len(), MAX_ERRORS);
        assert_eq!(errors[MAX_ERRORS - 1].line, MAX_ERRORS + 1);
    }

    fn sample_products() -> Vec<ProductRow> {
        vec![
            ProductRow {
                unit: Some("шт".into()),
                price: Some(d("1234.5")),
                unit_cost: Some(d("0.0001")),
                barcode: Some("0482".into()),
                tracks_stock: Some(true),
                ..product(2, "ЧШ-1", "Чашка \"Ранок\"; біла, 0,3 л")
            },
            ProductRow {
                tracks_stock: Some(false),
                price: Some(d("999999999999.9999")),
                ..product(3, "B", "Plate")
            },
            product(4, "C", "Bowl"),
        ]
    }

    #[test]
    fn products_round_trip_in_both_dialects() {
        let rows = sample_products();
        for dialect in [
            Dialect::PLAIN,
            Dialect::EXCEL_UK,
            Dialect {
                separator: b'\t',
                decimal_comma: true,
            },
        ] {
            let text = write_products(&rows, dialect);
            assert_eq!(parse_products(&text).unwrap(), rows, "{dialect:?}\n{text}");
        }
    }

    #[test]
    fn counts_round_trip_in_both_dialects() {
        let rows = vec![
            CountRow {
                line: 2,
                sku: "A".into(),
                warehouse: "Склад; головний".into(),
                quantity: d("12.75"),
            },
            CountRow {
                line: 3,
                sku: "B,1".into(),
                warehouse: "\"Shop\"".into(),
                quantity: Decimal::ZERO,
            },
        ];
        for dialect in [Dialect::PLAIN, Dialect::EXCEL_UK] {
            let text = write_counts(&rows, dialect);
            assert_eq!(parse_counts(&text).unwrap(), rows, "{dialect:?}\n{text}");
        }
    }

    #[test]
    fn excel_output_has_a_bom_and_decimal_commas_and_plain_output_has_neither() {
        let rows = [ProductRow {
            price: Some(d("2.50")),
            ..product(2, "A", "Cup")
        }];
        let excel = write_products(&rows, Dialect::EXCEL_UK);
        assert!(excel.starts_with("\u{feff}sku;name;unit;price;unit_cost;barcode;tracks_stock\n"));
        assert!(excel.ends_with("A;Cup;;2,5;;;\n"), "{excel}");
        let plain = write_products(&sample_products()[1..], Dialect::PLAIN);
        assert!(plain.starts_with("sku,name,"));
        assert!(
            plain.contains("B,Plate,,999999999999.9999,,,false\n"),
            "{plain}"
        );
        assert!(plain.ends_with("C,Bowl,,,,,\n"), "{plain}");
    }
}
