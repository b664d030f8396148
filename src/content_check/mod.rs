//! Free text that residents submit goes through WeChat's content security check
//! (`msg_sec_check` v2) before it is stored: a mini-program must not publish what WeChat
//! calls risky.
//!
//! `risky` is refused with 422 `content_rejected` naming each field at fault. `review` is let
//! through and flagged (logged and counted) for a person to look at. When WeChat cannot answer
//! (timeout, `-1`, HTTP error, any other errcode) residents are not blocked: the text is let
//! through and flagged the same way. Without WeChat configured (no appid, e.g. the embedded
//! default) the check is skipped.

use actix_web::http::StatusCode;
use futures_util::future::join_all;

use crate::{
    error::{ApiError, ApiResult, FieldError},
    state::AppState,
    wechat::Suggest,
};

/// WeChat's scene of the text, which tunes its judgement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scene {
    /// 资料: nickname, profile fields.
    Profile = 1,
    /// 评论: comments.
    Comment = 2,
    /// 论坛: posts, proposals, opinions.
    Forum = 3,
    /// 社交日志.
    SocialLog = 4,
}

/// A piece of text and the request field it came from.
#[derive(Debug, Clone, Copy)]
pub struct Text<'a> {
    pub field: &'a str,
    pub content: &'a str,
}

/// The outcome for text that may be stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    /// WeChat advised a person to look at it.
    Review,
    /// WeChat could not answer; treated as needing review.
    Unavailable,
    /// No WeChat configured, or nothing to check.
    Skipped,
}

impl Verdict {
    /// Whether a person should look at the text (features that store it keep this flag).
    pub fn needs_review(self) -> bool {
        matches!(self, Verdict::Review | Verdict::Unavailable)
    }

    fn severity(self) -> u8 {
        match self {
            Verdict::Skipped => 0,
            Verdict::Pass => 1,
            Verdict::Unavailable => 2,
            Verdict::Review => 3,
        }
    }
}

/// Checks every text (at the same time); 422 `content_rejected` naming each risky field,
/// else the most serious verdict among them.
#[tracing::instrument(skip_all, fields(scene = scene as u8))]
pub async fn check(
    state: &AppState,
    openid: &str,
    scene: Scene,
    texts: &[Text<'_>],
) -> ApiResult<Verdict> {
    if state.settings.wechat_appid.trim().is_empty() || texts.is_empty() {
        return Ok(Verdict::Skipped);
    }
    let calls = texts.iter().map(|t| async move {
        let answer = state
            .wechat
            .msg_sec_check(openid, scene as u8, t.content)
            .await;
        (t.field, answer)
    });
    let mut verdict = Verdict::Skipped;
    let mut rejected = Vec::new();
    // The text itself is never logged: it is personal data.
    for (field, answer) in join_all(calls).await {
        let outcome = match answer {
            Ok(found) => match found.suggest {
                Suggest::Pass => Verdict::Pass,
                Suggest::Review => {
                    tracing::info!(field, label = found.label, trace_id = ?found.trace_id, "content flagged for review");
                    metrics::counter!("content_flagged_total", "reason" => "review").increment(1);
                    Verdict::Review
                }
                Suggest::Risky => {
                    tracing::info!(field, label = found.label, trace_id = ?found.trace_id, "content rejected");
                    metrics::counter!("content_checks_total", "outcome" => "risky").increment(1);
                    rejected.push(FieldError {
                        field: field.to_owned(),
                        message: "该内容未通过安全检测，请修改后再提交".to_owned(),
                    });
                    continue;
                }
            },
            Err(e) => {
                tracing::warn!(field, error = %e, "content check unavailable; letting the text through for review");
                metrics::counter!("content_flagged_total", "reason" => "unavailable").increment(1);
                Verdict::Unavailable
            }
        };
        let label = match outcome {
            Verdict::Pass => "pass",
            Verdict::Review => "review",
            _ => "unavailable",
        };
        metrics::counter!("content_checks_total", "outcome" => label).increment(1);
        if outcome.severity() > verdict.severity() {
            verdict = outcome;
        }
    }
    if rejected.is_empty() {
        Ok(verdict)
    } else {
        Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "content_rejected",
            "提交的内容可能含有违规信息，请修改后再提交",
        )
        .with_errors(rejected))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn review_and_outage_need_a_person() {
        assert!(Verdict::Review.needs_review());
        assert!(Verdict::Unavailable.needs_review());
        assert!(!Verdict::Pass.needs_review());
        assert!(!Verdict::Skipped.needs_review());
    }

    #[test]
    fn scenes_are_wechats_numbers() {
        assert_eq!(Scene::Profile as u8, 1);
        assert_eq!(Scene::Comment as u8, 2);
        assert_eq!(Scene::Forum as u8, 3);
        assert_eq!(Scene::SocialLog as u8, 4);
    }
}
