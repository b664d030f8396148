//! Hot questionnaires. A published version never changes, so it is cached under a key that
//! names its version and never needs invalidating: in this process (single-flight, so a burst
//! of misses loads it once) and in the shared cache (Redis), in front of the database. A
//! short-lived pointer in the shared cache says which version is current and whether the
//! survey is open; publishing and closing move it and announce the move, so every instance
//! retires its copy of the pointer and sees the change at once (`Cache::near_generation`).

use std::{
    collections::HashMap,
    sync::{Arc, RwLock},
    time::{Duration, Instant},
};

use actix_web::{http::header::HeaderValue, web::Bytes};
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
    rendered: Moka<(Uuid, i32, SurveyStatus), Rendered>,
    /// Pointers as read from Redis and parsed here, each with the cache's near generation it
    /// was read at (see `Cache::near_generation`) and for `NEAR_TTL` at most: any
    /// announcement retires them all, and announcements are rare (publishing, closing, and a
    /// pointer's refresh from the database once a minute).
    /// Spares every questionnaire GET two key strings, the near lookup and a JSON decode.
    /// Hashed with foldhash: asked on every questionnaire GET, and only surveys that exist
    /// are held.
    pointers: RwLock<HashMap<Uuid, HeldPointer, foldhash::fast::RandomState>>,
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
            rendered: Moka::builder()
                .max_capacity(4_000)
                .time_to_idle(VERSION_TTL)
                .build(),
            pointers: RwLock::default(),
            sub_districts: tokio::sync::OnceCell::new(),
        }
    }
}

struct HeldPointer {
    pointer: Pointer,
    generation: u64,
    read_at: Instant,
    /// The version it names as sent, once a GET has asked for it.
    rendered: Option<Rendered>,
}

/// More pointers than surveys in use: past it the copies are dropped and read again.
const MAX_HELD_POINTERS: usize = 10_000;

impl HotSurveys {
    fn held<T>(&self, id: Uuid, generation: u64, f: impl FnOnce(&HeldPointer) -> T) -> Option<T> {
        let held = self.pointers.read().unwrap_or_else(|p| p.into_inner());
        held.get(&id)
            .filter(|h| h.generation == generation && h.read_at.elapsed() < crate::cache::NEAR_TTL)
            .map(f)
    }

    fn held_pointer(&self, id: Uuid, generation: u64) -> Option<Pointer> {
        self.held(id, generation, |h| h.pointer)
    }

    fn held_rendered(&self, id: Uuid, generation: u64) -> Option<Rendered> {
        self.held(id, generation, |h| h.rendered.clone()).flatten()
    }

    /// Only beside the very pointer it was rendered for.
    fn attach_rendered(&self, id: Uuid, pointer: Pointer, generation: u64, rendered: &Rendered) {
        let mut held = self.pointers.write().unwrap_or_else(|p| p.into_inner());
        if let Some(h) = held
            .get_mut(&id)
            .filter(|h| h.generation == generation && h.pointer == pointer)
        {
            h.rendered = Some(rendered.clone());
        }
    }

    fn hold_pointer(&self, id: Uuid, pointer: Pointer, generation: u64, read_at: Instant) {
        let mut held = self.pointers.write().unwrap_or_else(|p| p.into_inner());
        if held.len() >= MAX_HELD_POINTERS {
            held.clear();
        }
        held.insert(
            id,
            HeldPointer {
                pointer,
                generation,
                read_at,
                rendered: None,
            },
        );
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
    let hot = &state.hot_surveys;
    let seen = state.cache.near_generation();
    if let Some(p) = seen.and_then(|g| hot.held_pointer(id, g)) {
        crate::cache::count_lookup(true);
        return Ok(Some(p));
    }
    let read_at = Instant::now();
    let found = read_pointer(state, id).await?;
    if let (Some(g), Some(p)) = (seen, found) {
        hot.hold_pointer(id, p, g, read_at);
    }
    Ok(found)
}

async fn read_pointer(state: &AppState, id: Uuid) -> ApiResult<Option<Pointer>> {
    if let Some(p) = state.cache.get_json::<Pointer>(&pointer_key(id)).await {
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

/// A version in a status as residents receive it: the JSON and its entity tag, and the same
/// JSON gzip-compressed under a tag of its own, for the phones that ask for it (a 20-question
/// survey's 3.5 KB travel as about 1.4 KB). Compressed once, when the version is first sent
/// from this process, not per request.
#[derive(Clone)]
pub struct Rendered {
    pub body: Bytes,
    pub etag: HeaderValue,
    pub gzip: Bytes,
    pub gzip_etag: HeaderValue,
}

impl Rendered {
    fn new(id: Uuid, p: Pointer, body: Vec<u8>) -> std::io::Result<Self> {
        use std::io::Write;
        let mut gz = flate2::write::GzEncoder::new(
            Vec::with_capacity(body.len() / 2),
            flate2::Compression::best(),
        );
        gz.write_all(&body)?;
        let tag = p.etag(id);
        // Each representation its own strong tag (RFC 9110, 8.8.3): the gzip one is the
        // identity one with `-gzip` inside the quotes.
        let gzip_tag = format!("{}-gzip\"", tag.trim_end_matches('"'));
        let header = |t: String| HeaderValue::try_from(t).map_err(std::io::Error::other);
        Ok(Self {
            body: Bytes::from(body),
            etag: header(tag)?,
            gzip: Bytes::from(gz.finish()?),
            gzip_etag: header(gzip_tag)?,
        })
    }
}

/// The current version as sent to residents, when this process holds it beside a pointer
/// still current: a questionnaire GET is this one lookup, without awaiting anything.
pub fn held(state: &AppState, id: Uuid) -> Option<Rendered> {
    let r = state
        .cache
        .near_generation()
        .and_then(|g| state.hot_surveys.held_rendered(id, g))?;
    crate::cache::count_lookup(true);
    Some(r)
}

/// The current version as sent to residents, once `held` has not found it: loaded through
/// the pointer and the version caches. `None` when the survey does not exist or was never
/// published.
pub async fn current(state: &AppState, id: Uuid) -> ApiResult<Option<(Rendered, Source)>> {
    let seen = state.cache.near_generation();
    let Some(p) = pointer(state, id).await? else {
        return Ok(None);
    };
    let (r, source) = rendered(state, id, p).await?;
    if let Some(g) = seen {
        state.hot_surveys.attach_rendered(id, p, g, &r);
    }
    Ok(Some((r, source)))
}

/// The version `p` names as sent to residents, made once per process.
async fn rendered(state: &AppState, id: Uuid, p: Pointer) -> ApiResult<(Rendered, Source)> {
    let mut source = Source::Cache;
    let rendered = state
        .hot_surveys
        .rendered
        .try_get_with((id, p.version, p.status), async {
            let (survey, s) = version(state, id, p.version).await?;
            source = s;
            let mut view = (*survey).clone();
            view.status = p.status;
            let body = serde_json::to_vec(&view).map_err(ApiError::internal)?;
            Rendered::new(id, p, body).map_err(ApiError::internal)
        })
        .await
        .map_err(unshared)?;
    Ok((rendered, source))
}
