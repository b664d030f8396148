//! Streaming exports. CSV rows go out page by page as they are read; XLSX is written by
//! rust_xlsxwriter in constant-memory mode to a temporary file (off the async workers) and
//! then streamed from disk. Neither holds all responses in memory.

use std::path::PathBuf;

use actix_web::web::Bytes;
use futures_util::{Stream, stream};
use sea_orm::DatabaseConnection;
use tokio::io::AsyncReadExt;
use uuid::Uuid;

use super::{
    export::FIXED,
    service::{ExportPlan, export_page},
};
use crate::error::ApiError;

fn csv_line(cells: &[String]) -> Bytes {
    let mut w = csv::WriterBuilder::new().from_writer(Vec::new());
    let _ = w.write_record(cells);
    Bytes::from(w.into_inner().unwrap_or_default())
}

fn header(plan: &ExportPlan) -> Vec<String> {
    FIXED
        .iter()
        .map(|s| (*s).to_owned())
        .chain(plan.columns.iter().map(|c| c.header.clone()))
        .collect()
}

enum CsvState {
    Start,
    After(Option<Uuid>),
    Done,
}

pub fn csv(
    db: DatabaseConnection,
    plan: ExportPlan,
) -> impl Stream<Item = Result<Bytes, actix_web::Error>> {
    stream::unfold(
        (CsvState::Start, db, plan),
        |(state, db, plan)| async move {
            match state {
                CsvState::Start => {
                    // The BOM makes Excel and WPS read the file as UTF-8.
                    let mut first = b"\xEF\xBB\xBF".to_vec();
                    first.extend_from_slice(&csv_line(&header(&plan)));
                    Some((Ok(Bytes::from(first)), (CsvState::After(None), db, plan)))
                }
                CsvState::After(after) => match export_page(&db, &plan, after).await {
                    Ok(rows) if rows.is_empty() => None,
                    Ok(rows) => {
                        let last = rows.last().map(|(id, _)| *id);
                        let mut chunk = Vec::new();
                        for (_, cells) in &rows {
                            chunk.extend_from_slice(&csv_line(cells));
                        }
                        Some((Ok(Bytes::from(chunk)), (CsvState::After(last), db, plan)))
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "export stopped: database error");
                        let err: actix_web::Error = ApiError::internal(e).into();
                        Some((Err(err), (CsvState::Done, db, plan)))
                    }
                },
                CsvState::Done => None,
            }
        },
    )
}

/// Removes the temporary file when the stream is dropped (finished or abandoned).
struct TempPath(PathBuf);

impl Drop for TempPath {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

pub async fn xlsx(
    db: DatabaseConnection,
    plan: ExportPlan,
) -> Result<impl Stream<Item = Result<Bytes, actix_web::Error>>, ApiError> {
    let path = TempPath(std::env::temp_dir().join(format!("canyu-export-{}.xlsx", Uuid::new_v4())));
    let target = path.0.clone();
    let handle = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || -> Result<(), ApiError> {
        use rust_xlsxwriter::Workbook;
        let mut workbook = Workbook::new();
        let sheet = workbook
            .add_worksheet_with_constant_memory()
            .map_err(ApiError::internal)?;
        sheet.set_name("responses").map_err(ApiError::internal)?;
        for (col, text) in header(&plan).iter().enumerate() {
            sheet
                .write_string(0, u16::try_from(col).unwrap_or(u16::MAX), text)
                .map_err(ApiError::internal)?;
        }
        let mut after = None;
        let mut row: u32 = 1;
        loop {
            let rows = handle
                .block_on(export_page(&db, &plan, after))
                .map_err(ApiError::internal)?;
            if rows.is_empty() {
                break;
            }
            after = rows.last().map(|(id, _)| *id);
            for (_, cells) in rows {
                for (col, text) in cells.iter().enumerate() {
                    sheet
                        .write_string(row, u16::try_from(col).unwrap_or(u16::MAX), text)
                        .map_err(ApiError::internal)?;
                }
                row += 1;
            }
        }
        workbook.save(&target).map_err(ApiError::internal)?;
        Ok(())
    })
    .await
    .map_err(ApiError::internal)??;
    let file = tokio::fs::File::open(&path.0)
        .await
        .map_err(ApiError::internal)?;
    Ok(stream::unfold(
        (file, path),
        |(mut file, path)| async move {
            let mut buf = vec![0u8; 64 * 1024];
            match file.read(&mut buf).await {
                Ok(0) => None,
                Ok(n) => {
                    buf.truncate(n);
                    Some((Ok(Bytes::from(buf)), (file, path)))
                }
                Err(e) => Some((Err(ApiError::internal(e).into()), (file, path))),
            }
        },
    ))
}
