use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "residents")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(unique)]
    pub openid: String,
    pub unionid: Option<String>,
    pub nickname: Option<String>,
    /// Sealed with the data key (`personal_data::DataKey`); never plaintext.
    pub phone_enc: Option<String>,
    /// Keyed hash of the phone number, for lookups.
    pub phone_hash: Option<String>,
    pub home_subdistrict: Option<String>,
    pub community: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// Set when the resident deleted their account; personal fields are then erased.
    pub deleted_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
