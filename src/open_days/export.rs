//! The XLSX list of a slot's visitors, written with `rust_xlsxwriter` in constant-memory mode
//! (rows stream to a temporary file rather than sitting in memory). Opens in Excel and WPS.

use rust_xlsxwriter::{Format, Workbook, XlsxError};

pub const HEADERS: [&str; 7] = [
    "核验码",
    "状态",
    "人数",
    "姓名（已脱敏）",
    "手机号（已脱敏）",
    "预约时间",
    "签到时间",
];

/// One row of the list, already masked.
pub struct Row {
    pub code: String,
    pub status: &'static str,
    pub party_size: i32,
    pub name: String,
    pub phone: String,
    pub booked_at: String,
    pub checked_in_at: String,
}

/// Status names as staff read them.
pub fn status_label(status: &str) -> &'static str {
    match status {
        "confirmed" => "已预约",
        "waitlisted" => "候补中",
        "cancelled" => "已取消",
        "checked_in" => "已签到",
        "no_show" => "未到场",
        _ => "未知",
    }
}

/// The workbook's bytes. Blocking (file I/O and compression): call it off the async workers.
pub fn visitors_xlsx(title: &str, rows: &[Row]) -> Result<Vec<u8>, XlsxError> {
    let mut workbook = Workbook::new();
    let bold = Format::new().set_bold();
    let sheet = workbook.add_worksheet_with_constant_memory()?;
    // Sheet names are at most 31 characters and cannot hold some punctuation.
    let name: String = title
        .chars()
        .filter(|c| !"[]:*?/\\'".contains(*c))
        .take(31)
        .collect();
    if !name.trim().is_empty() {
        sheet.set_name(name.trim())?;
    }
    for (col, width) in [12, 8, 6, 14, 16, 18, 18].into_iter().enumerate() {
        sheet.set_column_width(col as u16, width)?;
    }
    for (col, h) in HEADERS.iter().enumerate() {
        sheet.write_string_with_format(0, col as u16, *h, &bold)?;
    }
    for (i, r) in rows.iter().enumerate() {
        let row = u32::try_from(i + 1).map_err(|_| XlsxError::RowColumnLimitError)?;
        sheet.write_string(row, 0, &r.code)?;
        sheet.write_string(row, 1, r.status)?;
        sheet.write_number(row, 2, f64::from(r.party_size))?;
        sheet.write_string(row, 3, &r.name)?;
        sheet.write_string(row, 4, &r.phone)?;
        sheet.write_string(row, 5, &r.booked_at)?;
        sheet.write_string(row, 6, &r.checked_in_at)?;
    }
    workbook.save_to_buffer()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_workbook_is_a_zip_with_the_rows() {
        let rows = vec![Row {
            code: "ABCDEFGH".into(),
            status: status_label("confirmed"),
            party_size: 2,
            name: "张*".into(),
            phone: "138****5678".into(),
            booked_at: "11月27日 10:00".into(),
            checked_in_at: String::new(),
        }];
        let bytes = visitors_xlsx("开放日: 上午/场", &rows).unwrap();
        assert!(bytes.starts_with(b"PK"));
    }
}
