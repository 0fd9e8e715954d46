//! Profile options: the community's genders, intents and suggested interests, its minimum
//! age, whether the deck needs a photo, and who may write to whom. Admins and the owner
//! (site settings).

use askama::Template;
use poem::http::StatusCode;
use poem::web::{Form, Redirect};
use poem::{IntoResponse, Request, Response, handler};
use serde::Deserialize;

use super::require;
use crate::domain::account::FieldError;
use crate::domain::permission::Permission;
use crate::domain::settings::{
    Audience, MessageScope, MessageSettings, ProfileSettings, SettingsPatch, option_list,
};
use crate::http::auth::{Viewer, verify_csrf};
use crate::http::error::AppError;
use crate::http::ui::{PageContext, flash, render, render_status, state_of};
use crate::service::error::ServiceError;

/// The form's values as typed: lists one option per line.
#[derive(Debug, Clone, Deserialize, Default)]
pub struct OptionsForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    minimum_age: String,
    #[serde(default)]
    genders: String,
    #[serde(default)]
    intents: String,
    #[serde(default)]
    interests: String,
    /// "yes" when ticked.
    #[serde(default)]
    deck_requires_photo: String,
    /// "yes" when ticked.
    #[serde(default)]
    deck_requires_verified: String,
    #[serde(default)]
    likes_per_day: String,
    #[serde(default)]
    supporter_likes_per_day: String,
    #[serde(default)]
    who_liked_me: String,
    #[serde(default)]
    who_viewed_me: String,
    #[serde(default)]
    message_scope: String,
    #[serde(default)]
    new_conversations_per_day: String,
    #[serde(default)]
    unverified_new_conversations_per_day: String,
}

impl OptionsForm {
    fn from_settings(s: &ProfileSettings, m: &MessageSettings) -> Self {
        Self {
            csrf: String::new(),
            minimum_age: s.minimum_age.to_string(),
            genders: s.genders.join("\n"),
            intents: s.intents.join("\n"),
            interests: s.interests.join("\n"),
            deck_requires_photo: if s.deck_requires_photo {
                "yes".into()
            } else {
                String::new()
            },
            deck_requires_verified: if s.deck_requires_verified {
                "yes".into()
            } else {
                String::new()
            },
            likes_per_day: s.likes_per_day.to_string(),
            supporter_likes_per_day: s.supporter_likes_per_day.to_string(),
            who_liked_me: s.who_liked_me.as_str().into(),
            who_viewed_me: s.who_viewed_me.as_str().into(),
            message_scope: m.scope.as_str().into(),
            new_conversations_per_day: m.new_conversations_per_day.to_string(),
            unverified_new_conversations_per_day: m
                .unverified_new_conversations_per_day
                .to_string(),
        }
    }

    fn parse(&self) -> Result<SettingsPatch, Vec<FieldError>> {
        let mut problems = Vec::new();
        let minimum_age = super::whole_number(&mut problems, "minimum_age", &self.minimum_age);
        let likes_per_day =
            super::whole_number(&mut problems, "likes_per_day", &self.likes_per_day);
        let supporter_likes_per_day = super::whole_number(
            &mut problems,
            "supporter_likes_per_day",
            &self.supporter_likes_per_day,
        );
        let new_conversations_per_day = super::whole_number(
            &mut problems,
            "new_conversations_per_day",
            &self.new_conversations_per_day,
        );
        let unverified_new_conversations_per_day = super::whole_number(
            &mut problems,
            "unverified_new_conversations_per_day",
            &self.unverified_new_conversations_per_day,
        );
        let message_scope = MessageScope::parse(&self.message_scope);
        if message_scope.is_none() {
            problems.push(FieldError::new(
                "message_scope",
                "Choose whom members may write to.",
            ));
        }
        let mut audience = |field: &'static str, raw: &str| {
            Audience::parse(raw).or_else(|| {
                problems.push(FieldError::new(field, "Choose who may see it."));
                None
            })
        };
        let who_liked_me = audience("who_liked_me", &self.who_liked_me);
        let who_viewed_me = audience("who_viewed_me", &self.who_viewed_me);
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(SettingsPatch {
            minimum_age: Some(minimum_age),
            genders: Some(option_list(self.genders.lines())),
            intents: Some(option_list(self.intents.lines())),
            interests: Some(option_list(self.interests.lines())),
            deck_requires_photo: Some(self.deck_requires_photo == "yes"),
            deck_requires_verified: Some(self.deck_requires_verified == "yes"),
            likes_per_day: Some(likes_per_day),
            supporter_likes_per_day: Some(supporter_likes_per_day),
            who_liked_me,
            who_viewed_me,
            message_scope,
            new_conversations_per_day: Some(new_conversations_per_day),
            unverified_new_conversations_per_day: Some(unverified_new_conversations_per_day),
            ..SettingsPatch::default()
        })
    }
}

#[derive(Template)]
#[template(path = "admin/profiles.html")]
struct OptionsPage {
    page: PageContext,
    section: &'static str,
    form: OptionsForm,
    errors: Vec<FieldError>,
}

impl OptionsPage {
    fn audiences(&self) -> [(&'static str, &'static str); 3] {
        [
            ("off", "Nobody"),
            ("everyone", "Every member"),
            ("supporters", "Supporters only"),
        ]
    }
}

#[handler]
pub async fn page(req: &Request, viewer: Viewer) -> Result<Response, AppError> {
    require(req, &viewer, Permission::ManageSettings)?;
    let state = state_of(req)?;
    let settings = state.settings.current();
    let form = OptionsForm::from_settings(&settings.profiles, &settings.messages);
    Ok(render(&OptionsPage {
        page: PageContext::new(req, state, &viewer),
        section: "profiles",
        form,
        errors: Vec::new(),
    })?
    .into_response())
}

#[handler]
pub async fn save(
    req: &Request,
    viewer: Viewer,
    Form(form): Form<OptionsForm>,
) -> Result<Response, AppError> {
    let me = require(req, &viewer, Permission::ManageSettings)?;
    let state = state_of(req)?;
    verify_csrf(req, state, &viewer, Some(&form.csrf))?;
    let outcome = match form.parse() {
        Ok(patch) => state.settings.update(&me, patch).await.map(drop),
        Err(problems) => Err(ServiceError::Invalid(problems)),
    };
    match outcome {
        Ok(()) => {
            flash::set(req, "Profile options saved.");
            Ok(Redirect::see_other("/admin/profiles").into_response())
        }
        Err(ServiceError::Invalid(errors)) => render_status(
            &OptionsPage {
                page: PageContext::new(req, state, &viewer),
                section: "profiles",
                form,
                errors,
            },
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        Err(e) => Err(e.into()),
    }
}
