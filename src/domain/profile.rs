//! Member profiles: what a member shows others, and who they hope to meet. The rules here need
//! nothing but the profile, the community's options and today's date; whether photos are the
//! member's own and approved is the service's to check against the store.

use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use super::account::FieldError;
use super::ids::{MediaId, UserId};
use super::places::{self, PlaceId};
use super::settings::ProfileSettings;
use super::text::{plain_text_problem, tidy_lines};

pub const DISPLAY_NAME_MIN: usize = 2;
pub const DISPLAY_NAME_MAX: usize = 50;
pub const BIO_MAX: usize = 2000;
pub const INTERESTS_MAX: usize = 20;
pub const INTEREST_MAX_CHARS: usize = 30;
pub const PHOTOS_MAX: usize = 6;
/// The oldest age anyone can ask for, and the oldest birth date taken (150 years back).
pub const AGE_MAX: u32 = 120;
pub const DISTANCE_MAX_KM: u32 = 20_000;

/// A stored profile. One per member, keyed by the member's id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    pub member: UserId,
    pub display_name: String,
    /// Never shown: others see the age.
    pub birth_date: Date,
    /// One of the community's genders.
    pub gender: String,
    /// The genders they want to meet (empty: anyone).
    pub wants: Vec<String>,
    /// One of the community's intents.
    pub intent: String,
    /// Plain text with line breaks.
    pub bio: String,
    pub interests: Vec<String>,
    /// Their town, if they gave one.
    pub place: Option<PlaceId>,
    /// Uploads from their library, in the order they chose; the first is the main photo.
    pub photos: Vec<MediaId>,
    /// An IANA time zone such as Europe/Zurich.
    pub time_zone: String,
    /// The ages they want to meet, inclusive.
    pub age_min: u32,
    pub age_max: u32,
    /// How far away others may live (between towns); `None`: anywhere.
    pub max_distance_km: Option<u32>,
    /// Hidden from the deck and the directory (matches still reach them).
    pub paused: bool,
    pub updated_at: Timestamp,
}

impl Profile {
    pub fn age_on(&self, today: Date) -> u32 {
        age_on(self.birth_date, today)
    }
}

/// Whole years from `birth` to `today` (someone born on 29 February turns a year older on
/// 1 March in other years).
pub fn age_on(birth: Date, today: Date) -> u32 {
    let mut years = i32::from(today.year()) - i32::from(birth.year());
    if (today.month(), today.day()) < (birth.month(), birth.day()) {
        years -= 1;
    }
    years.max(0) as u32
}

/// A profile as a member submits it (form or API), before any check.
#[derive(Debug, Clone, Default)]
pub struct ProfileDraft {
    pub display_name: String,
    /// `YYYY-MM-DD`.
    pub birth_date: String,
    pub gender: String,
    pub wants: Vec<String>,
    pub intent: String,
    pub bio: String,
    pub interests: Vec<String>,
    pub place: Option<PlaceId>,
    pub photos: Vec<MediaId>,
    pub time_zone: String,
    pub age_min: Option<u32>,
    pub age_max: Option<u32>,
    pub max_distance_km: Option<u32>,
}

impl ProfileDraft {
    /// The profile this draft makes for `member`, or every problem with it. `paused` and
    /// `updated_at` are the caller's.
    pub fn check(
        &self,
        member: UserId,
        options: &ProfileSettings,
        today: Date,
    ) -> Result<Profile, Vec<FieldError>> {
        let mut problems = Vec::new();
        let mut problem = |field, message: String| problems.push(FieldError::new(field, message));

        let display_name = self
            .display_name
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        let name_len = display_name.chars().count();
        if !(DISPLAY_NAME_MIN..=DISPLAY_NAME_MAX).contains(&name_len) {
            problem(
                "display_name",
                format!("Use {DISPLAY_NAME_MIN} to {DISPLAY_NAME_MAX} characters."),
            );
        } else if let Some(why) = plain_text_problem(&display_name, false) {
            problem("display_name", why.into());
        }

        let birth_date = match self.birth_date.trim().parse::<Date>() {
            Err(_) => {
                problem(
                    "birth_date",
                    "Enter your birth date as YYYY-MM-DD, for example 1990-04-23.".into(),
                );
                None
            }
            Ok(d) if d > today => {
                problem(
                    "birth_date",
                    "Your birth date cannot be in the future.".into(),
                );
                None
            }
            Ok(d) if age_on(d, today) > AGE_MAX => {
                problem("birth_date", "Check the year of your birth date.".into());
                None
            }
            Ok(d) if age_on(d, today) < options.minimum_age => {
                problem(
                    "birth_date",
                    format!(
                        "Members must be at least {} years old.",
                        options.minimum_age
                    ),
                );
                None
            }
            Ok(d) => Some(d),
        };

        let one_of = |value: &str, list: &[String]| {
            let v = value.trim().to_lowercase();
            list.contains(&v).then_some(v)
        };
        let gender = one_of(&self.gender, &options.genders);
        if gender.is_none() {
            problem(
                "gender",
                format!("Choose one of: {}.", options.genders.join(", ")),
            );
        }
        let mut wants = Vec::new();
        for w in &self.wants {
            match one_of(w, &options.genders) {
                Some(w) if !wants.contains(&w) => wants.push(w),
                Some(_) => {}
                None => {
                    problem(
                        "wants",
                        format!("Choose from: {}.", options.genders.join(", ")),
                    );
                    break;
                }
            }
        }
        let intent = one_of(&self.intent, &options.intents);
        if intent.is_none() {
            problem(
                "intent",
                format!("Choose one of: {}.", options.intents.join(", ")),
            );
        }

        let bio = tidy_lines(&self.bio);
        if bio.chars().count() > BIO_MAX {
            problem("bio", format!("Use at most {BIO_MAX} characters."));
        } else if let Some(why) = plain_text_problem(&bio, true) {
            problem("bio", why.into());
        }

        let mut interests: Vec<String> = Vec::new();
        for raw in &self.interests {
            let tag = raw
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .to_lowercase();
            if tag.is_empty() || interests.contains(&tag) {
                continue;
            }
            let len = tag.chars().count();
            let fine = (2..=INTEREST_MAX_CHARS).contains(&len)
                && tag
                    .chars()
                    .all(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '&' | '\'' | '+'));
            if !fine {
                problem(
                    "interests",
                    format!(
                        "\"{tag}\": use 2 to {INTEREST_MAX_CHARS} letters, digits, spaces or - & ' +."
                    ),
                );
                break;
            }
            interests.push(tag);
        }
        if interests.len() > INTERESTS_MAX {
            problem(
                "interests",
                format!("Choose at most {INTERESTS_MAX} interests."),
            );
        }

        if let Some(id) = self.place
            && places::get(id).is_none()
        {
            problem(
                "place",
                "That place is not on the list: choose one of the suggestions.".into(),
            );
        }

        let mut photos = Vec::new();
        for id in &self.photos {
            if photos.contains(id) {
                problem("photos", "Each photo can be on your profile once.".into());
                break;
            }
            photos.push(*id);
        }
        if photos.len() > PHOTOS_MAX {
            problem(
                "photos",
                format!("A profile has at most {PHOTOS_MAX} photos."),
            );
        }

        let time_zone = self.time_zone.trim();
        let time_zone = if time_zone.is_empty() {
            "UTC".to_string()
        } else {
            time_zone.to_string()
        };
        if time_zone.len() > 64 || jiff::tz::db().get(&time_zone).is_err() {
            problem(
                "time_zone",
                "Choose a time zone such as Europe/Zurich or America/New_York.".into(),
            );
        }

        let age_min = self.age_min.unwrap_or(options.minimum_age);
        let age_max = self.age_max.unwrap_or(AGE_MAX);
        if age_min < options.minimum_age || age_max > AGE_MAX || age_min > age_max {
            problem(
                "age_min",
                format!(
                    "Choose ages from {} to {AGE_MAX}, the lowest first.",
                    options.minimum_age
                ),
            );
        }
        if let Some(km) = self.max_distance_km
            && !(1..=DISTANCE_MAX_KM).contains(&km)
        {
            problem(
                "max_distance_km",
                format!("Use 1 to {DISTANCE_MAX_KM} km, or leave it empty for anywhere."),
            );
        }

        match (birth_date, gender, intent) {
            (Some(birth_date), Some(gender), Some(intent)) if problems.is_empty() => Ok(Profile {
                member,
                display_name,
                birth_date,
                gender,
                wants,
                intent,
                bio,
                interests,
                place: self.place,
                photos,
                time_zone,
                age_min,
                age_max,
                max_distance_km: self.max_distance_km,
                paused: false,
                updated_at: Timestamp::UNIX_EPOCH,
            }),
            _ => Err(problems),
        }
    }
}

/// How complete a profile is, and what would complete it.
#[derive(Debug, Clone, PartialEq)]
pub struct Completeness {
    pub percent: u32,
    /// What is missing, phrased as a suggestion.
    pub missing: Vec<&'static str>,
}

/// `visible_photos`: how many of its photos others can see (approved and ready).
pub fn completeness(profile: &Profile, visible_photos: usize) -> Completeness {
    let parts: [(bool, &'static str); 5] = [
        (visible_photos > 0, "Add a photo others can see."),
        (visible_photos >= 3, "Add at least three photos."),
        (!profile.bio.is_empty(), "Write a few lines about yourself."),
        (
            profile.interests.len() >= 3,
            "Choose at least three interests.",
        ),
        (profile.place.is_some(), "Say which town you live in."),
    ];
    let done = parts.iter().filter(|(ok, _)| *ok).count() as u32;
    Completeness {
        // A saved profile already has its name, birth date, gender and intent: half the way.
        percent: 50 + done * 10,
        missing: parts
            .iter()
            .filter(|(ok, _)| !ok)
            .map(|(_, tip)| *tip)
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> Date {
        "2026-11-29".parse().unwrap()
    }

    fn draft() -> ProfileDraft {
        ProfileDraft {
            display_name: "  Ada   L. ".into(),
            birth_date: "1990-04-23".into(),
            gender: "Woman".into(),
            wants: vec!["man".into(), "woman".into(), "man".into()],
            intent: "friendship".into(),
            bio: "Hi!\r\n\r\n\r\nI like <b>hiking</b>.  ".into(),
            interests: vec!["Hiking".into(), "  board   games ".into(), "hiking".into()],
            place: Some(2657896),
            photos: vec![],
            time_zone: "Europe/Zurich".into(),
            age_min: Some(25),
            age_max: Some(45),
            max_distance_km: Some(100),
        }
    }

    fn fields_of(result: Result<Profile, Vec<FieldError>>) -> Vec<&'static str> {
        result.unwrap_err().iter().map(|p| p.field).collect()
    }

    #[test]
    fn a_good_draft_is_tidied() {
        let p = draft()
            .check(UserId::from_u128(7), &ProfileSettings::default(), today())
            .unwrap();
        assert_eq!(p.display_name, "Ada L.");
        assert_eq!(p.gender, "woman");
        assert_eq!(p.wants, ["man", "woman"]);
        assert_eq!(p.bio, "Hi!\n\nI like <b>hiking</b>.");
        assert_eq!(p.interests, ["hiking", "board games"]);
        assert_eq!(p.age_on(today()), 36);
    }

    #[test]
    fn ages_count_whole_years() {
        let d = |s: &str| s.parse::<Date>().unwrap();
        assert_eq!(age_on(d("2008-11-29"), today()), 18);
        assert_eq!(age_on(d("2008-11-30"), today()), 17);
        assert_eq!(age_on(d("2004-02-29"), d("2026-02-28")), 21);
        assert_eq!(age_on(d("2004-02-29"), d("2026-03-01")), 22);
    }

    #[test]
    fn bad_fields_are_each_named() {
        let options = ProfileSettings::default();
        let check = |d: ProfileDraft| fields_of(d.check(UserId::from_u128(7), &options, today()));
        let bad = ProfileDraft {
            display_name: "A".into(),
            birth_date: "2030-01-01".into(),
            gender: "robot".into(),
            wants: vec!["robot".into()],
            intent: "".into(),
            bio: "x".repeat(BIO_MAX + 1),
            interests: vec!["<script>".into()],
            place: Some(1),
            photos: vec![MediaId::from_u128(1); 7],
            time_zone: "Mars/Olympus".into(),
            age_min: Some(50),
            age_max: Some(20),
            max_distance_km: Some(0),
        };
        assert_eq!(
            check(bad),
            [
                "display_name",
                "birth_date",
                "gender",
                "wants",
                "intent",
                "bio",
                "interests",
                "place",
                "photos",
                "time_zone",
                "age_min",
                "max_distance_km"
            ]
        );
        let under_age = ProfileDraft {
            birth_date: "2008-11-30".into(),
            ..draft()
        };
        assert_eq!(check(under_age), ["birth_date"]);
        let spoofed = ProfileDraft {
            display_name: "admin\u{202E}".into(),
            bio: "a\u{200B}b".into(),
            ..draft()
        };
        assert_eq!(check(spoofed), ["display_name", "bio"]);
        let photos: Vec<MediaId> = (0..7).map(MediaId::from_u128).collect();
        let seven = ProfileDraft { photos, ..draft() };
        assert_eq!(check(seven), ["photos"]);
        let many = ProfileDraft {
            interests: (0..21).map(|i| format!("tag {i}")).collect(),
            ..draft()
        };
        assert_eq!(check(many), ["interests"]);
    }

    #[test]
    fn completeness_names_what_is_missing() {
        let mut p = draft()
            .check(UserId::from_u128(7), &ProfileSettings::default(), today())
            .unwrap();
        let c = completeness(&p, 0);
        assert_eq!(c.percent, 70);
        assert_eq!(c.missing.len(), 3);
        p.interests.push("music".into());
        assert_eq!(completeness(&p, 3).percent, 100);
    }
}
