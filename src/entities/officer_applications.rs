use sea_orm::entity::prelude::*;

/// A resident's application to serve as an experience officer in one campaign.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "officer_applications")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub campaign_id: Uuid,
    pub resident_id: Uuid,
    /// `resident_id` while pending or approved, NULL afterwards (one active per campaign).
    pub active_resident_id: Option<Uuid>,
    /// Sealed with the data key.
    pub real_name_enc: Option<String>,
    /// Sealed with the data key.
    pub phone_enc: Option<String>,
    pub phone_hash: Option<String>,
    pub age_group: Option<String>,
    pub occupation: Option<String>,
    pub community: Option<String>,
    pub motivation: Option<String>,
    /// `pending`, `approved`, `rejected` or `withdrawn`.
    pub status: String,
    /// The reviewer's reason (rejections).
    pub reason: Option<String>,
    pub reviewed_by: Option<Uuid>,
    pub reviewed_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
