//! Hot questionnaires. A published version never changes, so it is cached under a key that
//! names its version and never needs invalidating: in this process (single-flight, so a burst
//! of misses loads it once) and in the shared cache (Redis), in front of the database. A
//! short-lived pointer in the shared cache says which version is current and whether the
//! survey is open; publishing and closing move it and announce the move, so every instance
//! drops its near copy of the pointer and sees the change at once (`Cache::get_near`).

use std::{sync::Arc, time::Duration};

use actix_web::web::Bytes;
use moka::future::Cache as Moka;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{
    dto::{PublishedSurvey, SurveyStatus},
    repo,
};
use crate::{
    error::{ApiError, ApiResult},
    state::AppState,
};

/// Which version is current, and the survey's status.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub struct Pointer {
    pub version: i32,
    pub status: SurveyStatus,
}

impl Pointer {
    pub fn etag(&self, id: Uuid) -> String {
        format!("\"{id}-v{}-{}\"", self.version, self.status.as_str())
    }
}

const POINTER_TTL: Duration = Duration::from_secs(60);
const VERSION_TTL: Duration = Duration::from_secs(24 * 60 * 60);

/// This process's copies of published versions.
pub struct HotSurveys {
    versions: Moka<(Uuid, i32), Arc<PublishedSurvey>>,
    bytes: Moka<(Uuid, i32, SurveyStatus), Bytes>,
    /// The 15 sub-district codes: seeded by a migration and never changed at run time
    /// (administrators add departments only), so every submission need not query them.
    pub(super) sub_districts: tokio::sync::OnceCell<Arc<std::collections::HashSet<String>>>,
}

impl Default for HotSurveys {
    fn default() -> Self {
        Self {
            versions: Moka::builder()
                .max_capacity(2_000)
                .time_to_idle(VERSION_TTL)
                .build(),
            bytes: Moka::builder()
                .max_capacity(4_000)
                .time_to_idle(VERSION_TTL)
                .build(),
            sub_districts: tokio::sync::OnceCell::new(),
        }
    }
}

fn pointer_key(id: Uuid) -> String {
    format!("survey:{id}:ptr")
}

fn version_key(id: Uuid, version: i32) -> String {
    format!("survey:{id}:v{version}")
}

/// The current pointer; `None` when the survey does not exist or was never published.
pub async fn pointer(state: &AppState, id: Uuid) -> ApiResult<Option<Pointer>> {
    if let Some(p) = state.cache.get_json_near::<Pointer>(&pointer_key(id)).await {
        return Ok(Some(p));
    }
    let Some(survey) = repo::find(&state.db, id).await? else {
        return Ok(None);
    };
    let Some(version) = survey.current_version else {
        return Ok(None);
    };
    let p = Pointer {
        version,
        status: SurveyStatus::parse(&survey.status),
    };
    set_pointer(state, id, p).await;
    Ok(Some(p))
}

pub async fn set_pointer(state: &AppState, id: Uuid, p: Pointer) {
    state
        .cache
        .set_json_announced(&pointer_key(id), &p, POINTER_TTL)
        .await;
}

/// The error of a load that several requests waited on: each gets its own copy.
fn unshared(e: Arc<ApiError>) -> ApiError {
    Arc::try_unwrap(e).unwrap_or_else(|shared| {
        ApiError::new(
            shared.status(),
            "survey_unavailable",
            "问卷暂时无法加载，请稍后再试",
        )
    })
}

/// Whether the last lookup had to go to the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Cache,
    Database,
}

/// A published version, parsed; loaded once per process even under a burst.
pub async fn version(
    state: &AppState,
    id: Uuid,
    v: i32,
) -> ApiResult<(Arc<PublishedSurvey>, Source)> {
    let mut source = Source::Cache;
    let loaded = state
        .hot_surveys
        .versions
        .try_get_with((id, v), async {
            if let Some(bytes) = state.cache.get(&version_key(id, v)).await
                && let Ok(parsed) = serde_json::from_slice::<PublishedSurvey>(&bytes)
            {
                return Ok(Arc::new(parsed));
            }
            source = Source::Database;
            metrics::counter!("survey_version_loads_total").increment(1);
            let row = repo::find_version(&state.db, id, v)
                .await?
                .ok_or_else(|| ApiError::not_found("survey_not_found", "没有这份问卷"))?;
            state
                .cache
                .set(
                    &version_key(id, v),
                    row.body.clone().into_bytes(),
                    VERSION_TTL,
                )
                .await;
            let parsed: PublishedSurvey =
                serde_json::from_str(&row.body).map_err(ApiError::internal)?;
            Ok::<_, ApiError>(Arc::new(parsed))
        })
        .await
        .map_err(unshared)?;
    Ok((loaded, source))
}

/// The JSON residents receive for a version in a status, serialised once per process.
pub async fn bytes(state: &AppState, id: Uuid, p: Pointer) -> ApiResult<(Bytes, Source)> {
    let mut source = Source::Cache;
    let bytes = state
        .hot_surveys
        .bytes
        .try_get_with((id, p.version, p.status), async {
            let (survey, s) = version(state, id, p.version).await?;
            source = s;
            let mut view = (*survey).clone();
            view.status = p.status;
            let body = serde_json::to_vec(&view).map_err(ApiError::internal)?;
            Ok::<_, ApiError>(Bytes::from(body))
        })
        .await
        .map_err(unshared)?;
    Ok((bytes, source))
}
