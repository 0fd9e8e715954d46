//! `hearth demo-data`: a community full of life, for trying Hearth and for benchmarks.
//!
//! Creates members with names, ages, towns around a few dozen big cities, genders, intents,
//! interests, bios and photos, and lets them like and pass each other (mutual likes become
//! matches). Photos are a few dozen generated images put through the real photo pipeline once
//! and shared by many members (their files are stored once, counted per record). Every demo
//! member has the address `<username>@demo.invalid` and the password printed at the end; the
//! command refuses a database with other members unless `--force`. With `--tokens N` it also
//! writes read-write API tokens for the first N members to `--tokens-file`, one
//! `member_id token` per line, so load tools can act as many members at once.

use std::collections::HashSet;
use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use jiff::{SignedDuration, Timestamp};
use rand::rngs::StdRng;
use rand::seq::{IndexedRandom, SliceRandom};
use rand::{Rng, SeedableRng};

use crate::clock::{Clock, SystemClock};
use crate::config::{Config, Overrides};
use crate::domain::account::{AccountStatus, User};
use crate::domain::api_token::TokenScope;
use crate::domain::ids::{ConversationId, MatchId, MediaId, MessageId, UserId, uuid_v7};
use crate::domain::matching::{Match, Swipe, SwipeAction};
use crate::domain::media::{BlobRef, Format, Media, MediaState};
use crate::domain::message::{Conversation, Message};
use crate::domain::places;
use crate::domain::profile::Profile;
use crate::domain::role::Role;
use crate::domain::secret::Secret;
use crate::domain::settings::ProfileSettings;
use crate::media::blobs::BlobStore;
use crate::media::photo;
use crate::service::passwords::Passwords;
use crate::service::tokens::new_api_token;
use crate::store::Store;

/// The password every demo member has.
pub const PASSWORD: &str = "hearth demo member";
/// Demo members' addresses end with this.
pub const EMAIL_DOMAIN: &str = "demo.invalid";
/// Distinct generated photos, shared by the members (by default).
pub const TEMPLATES: usize = 24;
/// Members written per transaction.
const BATCH: usize = 1000;

#[derive(Debug, Clone)]
pub struct DemoOptions {
    pub members: usize,
    pub force: bool,
    pub tokens: usize,
    pub tokens_file: Option<PathBuf>,
    pub seed: u64,
    /// Distinct photos to make and share.
    pub photos: usize,
    /// Messages to spread over conversations between matches (about 20 each; the first
    /// members, who get the tokens, talk first).
    pub messages: usize,
    /// Records to write: letters and documents of the last two years, owned by and assigned
    /// to members (the token members first).
    pub records: usize,
}

const WOMEN: &[&str] = &[
    "Maya", "Lena", "Sofia", "Amira", "Chloe", "Ines", "Yuki", "Priya", "Zoe", "Nora", "Elena",
    "Aisha", "Clara", "Mei", "Lucia", "Hanna", "Olivia", "Freya", "Leila", "Ana", "Ingrid", "Sara",
    "Nadia", "Julia", "Emma", "Rosa", "Ava", "Mila", "Lea", "Amelie",
];
const MEN: &[&str] = &[
    "Noah", "Luca", "Omar", "Felix", "Kenji", "Arjun", "Mateo", "Elias", "Jonas", "Hugo", "Ravi",
    "Leo", "Samir", "Tomas", "David", "Finn", "Marco", "Ivan", "Kofi", "Theo", "Liam", "Adam",
    "Jakob", "Paul", "Oscar", "Emil", "Yusuf", "Diego", "Milan", "Nico",
];
const NEUTRAL: &[&str] = &[
    "Alex", "Sam", "Robin", "Kim", "Charlie", "Jules", "Noa", "Ari",
];
const BIO_OPENERS: &[&str] = &[
    "New in town and keen to meet people.",
    "Weekend hiker, weekday coffee drinker.",
    "I cook too much and share it.",
    "Always planning the next trip.",
    "Looking for people to start a book club with.",
    "Happiest outdoors.",
    "Ask me about my plants.",
    "Learning my third language, slowly.",
];
const BIO_CLOSERS: &[&str] = &[
    "Say hi!",
    "Tell me your favourite place around here.",
    "Board games on Sundays, anyone?",
    "I make a good playlist.",
    "Let's get a coffee.",
    "",
];

pub async fn run(overrides: Overrides, options: DemoOptions) -> Result<(), String> {
    let config = Config::load(&overrides).map_err(|e| e.to_string())?;
    let data_dir = config.storage.data_dir.clone();
    let clock = SystemClock;
    let now = clock.now();
    let started = Instant::now();
    let store = Store::open_for_command(&data_dir, now).await?;
    let suffix = format!("@{EMAIL_DOMAIN}");
    let real = store
        .read(move |rx| {
            let mut real = 0usize;
            rx.users().for_each(|u| {
                if !u.email.ends_with(&suffix) {
                    real += 1;
                }
            })?;
            Ok::<_, crate::store::StoreError>(real)
        })
        .await
        .map_err(|e| e.to_string())?;
    if real > 0 && !options.force {
        store.close().await;
        return Err(format!(
            "this database has {real} member(s) who are not demo members; demo data is for trying Hearth out. Use a new --data-dir, or --force to add demo members anyway"
        ));
    }
    let mut rng = StdRng::seed_from_u64(options.seed);
    println!(
        "Making {} photos through the photo pipeline...",
        options.photos
    );
    let blobs = BlobStore::open(&config.storage.data_dir).map_err(|e| e.to_string())?;
    let templates = make_templates(&blobs, &mut rng, options.photos)?;
    let password_hash = Passwords::new()
        .hash(Secret::new(PASSWORD.to_string()))
        .await
        .map_err(|e| e.to_string())?;
    let options_lists = ProfileSettings::default();
    let hubs = places::largest(40);

    // Members, a batch per transaction.
    let mut members: Vec<(UserId, usize)> = Vec::with_capacity(options.members);
    let mut written = 0;
    while written < options.members {
        let n = BATCH.min(options.members - written);
        let mut users = Vec::with_capacity(n);
        for i in written..written + n {
            let (user, profile, photos, active_ms) = member(
                i,
                &mut rng,
                now,
                &password_hash,
                &options_lists,
                &hubs,
                &templates,
            );
            members.push((user.id, hub_of(&profile, &hubs)));
            users.push((user, profile, photos, active_ms));
        }
        store
            .write(move |tx| {
                for (user, profile, photos, active_ms) in &users {
                    tx.users().insert(user)?;
                    for m in photos {
                        tx.media().insert(m)?;
                    }
                    tx.profiles().put(profile)?;
                    tx.profiles().record_active(user.id, *active_ms)?;
                }
                Ok(())
            })
            .await
            .map_err(|e| e.to_string())?;
        written += n;
        print!("\rMembers: {written}/{}", options.members);
        let _ = std::io::stdout().flush();
    }
    println!();

    // Likes and passes within each hub; mutual likes become matches.
    let mut by_hub: Vec<Vec<UserId>> = vec![Vec::new(); hubs.len().max(1)];
    for (id, hub) in &members {
        by_hub[*hub].push(*id);
    }
    let mut likes: HashSet<(UserId, UserId)> = HashSet::new();
    let mut swipes: Vec<(UserId, UserId, Swipe)> = Vec::new();
    for (id, hub) in &members {
        let pool = &by_hub[*hub];
        let mut chosen = HashSet::new();
        for _ in 0..12 {
            let Some(&other) = pool.choose(&mut rng) else {
                break;
            };
            if other == *id || !chosen.insert(other) {
                continue;
            }
            let action = if rng.random_bool(0.65) {
                SwipeAction::Like
            } else {
                SwipeAction::Pass
            };
            if action == SwipeAction::Like {
                likes.insert((*id, other));
            }
            let at = now - SignedDuration::from_mins(rng.random_range(30..60 * 24 * 20));
            swipes.push((*id, other, Swipe { action, at }));
        }
    }
    let mut matches = Vec::new();
    for &(a, b) in &likes {
        if a < b && likes.contains(&(b, a)) {
            matches.push(Match {
                id: MatchId(uuid_v7(now.as_millisecond(), rng.random())),
                a,
                b,
                created_at: now,
                last_activity: now,
            });
        }
    }
    let swipe_count = swipes.len();
    for chunk in swipes.chunks(20_000) {
        let chunk = chunk.to_vec();
        store
            .write(move |tx| {
                for (a, t, s) in &chunk {
                    tx.swipes().put(*a, *t, s, 0)?;
                }
                Ok(())
            })
            .await
            .map_err(|e| e.to_string())?;
    }
    let match_count = matches.len();
    for chunk in matches.chunks(20_000) {
        let chunk = chunk.to_vec();
        store
            .write(move |tx| {
                for m in &chunk {
                    if tx.matches().between(m.a, m.b)?.is_none() {
                        tx.matches().insert(m)?;
                    }
                }
                Ok(())
            })
            .await
            .map_err(|e| e.to_string())?;
    }
    println!("Swipes: {swipe_count}, matches: {match_count}");
    if options.messages > 0 {
        let first: HashSet<UserId> = members
            .iter()
            .take(options.tokens.max(1))
            .map(|(id, _)| *id)
            .collect();
        matches.sort_by_key(|m| !(first.contains(&m.a) || first.contains(&m.b)));
        write_messages(&store, &mut rng, &matches, options.messages, now).await?;
    }

    if options.records > 0 {
        let people: Vec<UserId> = members.iter().map(|(id, _)| *id).collect();
        let first = options.tokens.clamp(1, people.len().max(1));
        write_records(&store, &mut rng, &people, first, options.records, now).await?;
    }

    if options.tokens > 0 {
        let path = options
            .tokens_file
            .clone()
            .ok_or("--tokens needs --tokens-file PATH")?;
        let mut lines = String::new();
        let mut tokens = Vec::new();
        for (id, _) in members.iter().take(options.tokens) {
            let (secret, hash, token) = new_api_token(
                *id,
                "demo load test",
                TokenScope::ReadWrite,
                None,
                false,
                now,
            );
            tokens.push((hash, token));
            lines.push_str(&format!("{id} {}\n", secret.expose()));
        }
        store
            .write(move |tx| {
                for (hash, token) in &tokens {
                    tx.api_tokens().insert(hash, token)?;
                }
                Ok(())
            })
            .await
            .map_err(|e| e.to_string())?;
        std::fs::write(&path, lines)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        println!(
            "API tokens: {} written to {}",
            options.tokens,
            path.display()
        );
    }
    store.close().await;
    println!(
        "Done in {:.1} s. Every demo member signs in with their username (see Admin → Users) and the password \"{PASSWORD}\".",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// What demo records are about.
const RECORD_TITLES: &[&str] = &[
    "Roof repair quote",
    "Hall booking request",
    "Annual budget draft",
    "Insurance renewal",
    "Noise complaint",
    "Grant application",
    "Membership fee reminder",
    "Minutes of the board meeting",
    "Invitation to the summer fair",
    "Heating maintenance",
    "Volunteer schedule",
    "Letter from the city council",
];
const CORRESPONDENTS: &[&str] = &[
    "City Council",
    "Roofers Ltd",
    "Green Energy Co",
    "Regional Arts Fund",
    "Neighbourhood Association",
    "Bank of the Valley",
    "",
];
const RECORD_TAGS: &[&str] = &[
    "building", "finance", "events", "members", "legal", "urgent",
];

/// `total` records created over the last two years, oldest first, each numbered in the
/// default format of its direction and year; owners and assignees drawn mostly from the
/// first `first` members (those with tokens), so their lists and "my work" have something.
async fn write_records(
    store: &Store,
    rng: &mut StdRng,
    people: &[UserId],
    first: usize,
    total: usize,
    now: Timestamp,
) -> Result<(), String> {
    use crate::domain::ids::RecordId;
    use crate::domain::record::{Change, Direction, NumberFormat, Priority, Record, Visibility};
    if people.is_empty() {
        return Err("--records needs members".into());
    }
    let statuses = ["new", "in_progress", "pending", "completed", "archived"];
    let span = SignedDuration::from_hours(24 * 730);
    let step = span.as_millis() as i64 / total.max(1) as i64;
    let started = now - span;
    let mut written = 0;
    let mut batch = Vec::with_capacity(5_000);
    let pick = |rng: &mut StdRng| -> UserId {
        if rng.random_bool(0.7) {
            people[rng.random_range(0..first)]
        } else {
            people[rng.random_range(0..people.len())]
        }
    };
    for i in 0..total {
        let at = started + SignedDuration::from_millis(step * i as i64);
        let owner = pick(rng);
        let mut assignees: Vec<UserId> = Vec::new();
        for _ in 0..rng.random_range(0..3) {
            let a = pick(rng);
            if !assignees.contains(&a) {
                assignees.push(a);
            }
        }
        let mut watchers = vec![owner];
        watchers.extend(assignees.iter().filter(|a| **a != owner));
        let due = rng.random_bool(0.6).then(|| {
            (now + SignedDuration::from_hours(24 * rng.random_range(-60..60)))
                .to_zoned(jiff::tz::TimeZone::UTC)
                .date()
        });
        let direction = Direction::ALL[rng.random_range(0..3)];
        let visibility = match rng.random_range(0..20) {
            0..=13 => Visibility::Members,
            14..=16 => Visibility::Staff,
            _ => Visibility::People,
        };
        let how_many = rng.random_range(0..3);
        let tags: Vec<String> = RECORD_TAGS
            .choose_multiple(rng, how_many)
            .map(|t| t.to_string())
            .collect();
        batch.push(Record {
            id: RecordId(uuid_v7(at.as_millisecond(), rng.random())),
            number: String::new(),
            direction,
            title: RECORD_TITLES
                .choose(rng)
                .copied()
                .unwrap_or("Letter")
                .into(),
            correspondent: CORRESPONDENTS.choose(rng).copied().unwrap_or("").into(),
            content: SAYINGS.choose(rng).copied().unwrap_or("").into(),
            status: statuses[rng.random_range(0..statuses.len())].into(),
            priority: Priority::ALL[rng.random_range(0..4)],
            owner,
            assignees,
            watchers,
            due,
            tags,
            visibility,
            version: 1,
            created_at: at,
            updated_at: at,
            deleted_at: None,
        });
        if batch.len() == 5_000 || i + 1 == total {
            let records = std::mem::take(&mut batch);
            written += records.len();
            store
                .write(move |tx| {
                    for mut record in records.clone() {
                        let year = record.created_at.to_zoned(jiff::tz::TimeZone::UTC).year();
                        let format = NumberFormat::parse(record.direction.default_format())
                            .map_err(crate::store::StoreError::Corrupt)?;
                        record.number = tx.record_numbers().next(
                            record.direction,
                            year,
                            &format,
                            record.id.as_u128(),
                        )?;
                        let created = Change {
                            version: 1,
                            at: record.created_at,
                            by: record.owner,
                            field: "created".into(),
                            old: String::new(),
                            new: record.number.clone(),
                        };
                        tx.records().insert(&record, &[created])?;
                    }
                    Ok(())
                })
                .await
                .map_err(|e| e.to_string())?;
            print!("\rRecords: {written}/{total}");
            let _ = std::io::stdout().flush();
        }
    }
    println!();
    Ok(())
}

/// What demo members say to each other: two of these at a time.
const SAYINGS: &[&str] = &[
    "How was your weekend?",
    "I went hiking up the ridge on Saturday, the view was worth it.",
    "Have you tried the new coffee place by the station?",
    "I'm reading a science fiction novel about a generation ship.",
    "We could go to the farmers market on Sunday morning.",
    "My band plays a small gig on Friday, jazz standards mostly.",
    "I baked sourdough bread again, third try and finally a good crumb.",
    "Do you like board games? A few friends meet every Thursday.",
    "The museum has a photography exhibition until the end of the month.",
    "I'm training for a half marathon, slowly.",
    "Climbing gym after work? I need a belay partner.",
    "That film was better than the reviews said.",
    "I cooked a Thai curry tonight, far too spicy.",
    "Let's walk along the river if the weather holds.",
    "Any tips for a first trip to Lisbon?",
    "I adopted a cat last month, she runs the house now.",
    "Yoga in the park starts again next week.",
    "Do you know a good bookshop with a café?",
    "I finally fixed my bicycle, want to ride to the lake?",
    "The concert was loud and wonderful.",
];

/// `total` messages over conversations between the first of `matches`, about 20 each,
/// alternating authors, the newest a few minutes ago.
async fn write_messages(
    store: &Store,
    rng: &mut StdRng,
    matches: &[Match],
    total: usize,
    now: Timestamp,
) -> Result<(), String> {
    const PER_CONVERSATION: usize = 20;
    let conversations = total.div_ceil(PER_CONVERSATION).min(matches.len());
    if conversations == 0 {
        return Err("--messages needs matches: make more members".into());
    }
    let mut plan: Vec<(Conversation, Vec<Message>)> = Vec::new();
    let mut written = 0;
    for (i, m) in matches.iter().take(conversations).enumerate() {
        let count = total / conversations + usize::from(i < total % conversations);
        let started = now - SignedDuration::from_hours(rng.random_range(24..24 * 30));
        let mut conversation = Conversation {
            id: ConversationId(uuid_v7(started.as_millisecond(), rng.random())),
            a: m.a,
            b: m.b,
            started_by: m.a,
            created_at: started,
            last_message: None,
            last_activity: started,
        };
        let step = (now.as_millisecond() - started.as_millisecond())
            / i64::try_from(count + 1).unwrap_or(i64::MAX);
        let messages = (1..=count)
            .map(|k| {
                let at =
                    started + SignedDuration::from_millis(step * i64::try_from(k).unwrap_or(0));
                let text = format!(
                    "{} {}",
                    SAYINGS.choose(rng).copied().unwrap_or_default(),
                    SAYINGS.choose(rng).copied().unwrap_or_default()
                );
                Message {
                    id: MessageId(uuid_v7(at.as_millisecond(), rng.random())),
                    conversation: conversation.id,
                    author: if k % 2 == 0 { m.b } else { m.a },
                    text,
                    media: None,
                    sent_at: at,
                    edited_at: None,
                    deleted: false,
                }
            })
            .collect();
        conversation.last_activity = started;
        plan.push((conversation, messages));
        if plan.iter().map(|(_, m)| m.len()).sum::<usize>() >= 20_000 || i + 1 == conversations {
            let batch = std::mem::take(&mut plan);
            written += batch.iter().map(|(_, m)| m.len()).sum::<usize>();
            store
                .write(move |tx| {
                    for (conversation, messages) in &batch {
                        let mut conversation = conversation.clone();
                        tx.messages().start(&conversation)?;
                        for message in messages {
                            tx.messages().add(&conversation, message)?;
                            conversation.last_message = Some(message.id);
                            conversation.last_activity = message.sent_at;
                        }
                    }
                    Ok(())
                })
                .await
                .map_err(|e| e.to_string())?;
            print!("\rMessages: {written}/{total}");
            let _ = std::io::stdout().flush();
        }
    }
    println!();
    Ok(())
}

fn hub_of(profile: &Profile, hubs: &[&places::Place]) -> usize {
    hubs.iter()
        .position(|h| Some(h.id) == profile.place)
        .unwrap_or(0)
}

/// One demo member: account, profile, photo records, when they were last active.
fn member(
    i: usize,
    rng: &mut StdRng,
    now: Timestamp,
    password_hash: &str,
    lists: &ProfileSettings,
    hubs: &[&places::Place],
    templates: &[Media],
) -> (User, Profile, Vec<Media>, i64) {
    let gender_roll: f64 = rng.random();
    let (gender, names) = match gender_roll {
        r if r < 0.47 => ("woman", WOMEN),
        r if r < 0.94 => ("man", MEN),
        _ => ("non-binary", NEUTRAL),
    };
    let first = names.choose(rng).copied().unwrap_or("Sam");
    let initial = (b'A' + rng.random_range(0..26u8)) as char;
    let username = format!("{}{}", first.to_lowercase(), i + 1);
    let joined = now - SignedDuration::from_hours(rng.random_range(1..24 * 365));
    let id = UserId(uuid_v7(joined.as_millisecond(), rng.random()));
    let user = User {
        id,
        username: username.clone(),
        email: format!("{username}@{EMAIL_DOMAIN}"),
        password_hash: password_hash.to_string(),
        role: Role::Member,
        created_at: joined,
        status: AccountStatus::Active,
        email_verified: true,
        supporter: rng.random_bool(0.05),
        deletion_due: None,
    };
    let wants: Vec<String> = match (gender, rng.random_range(0..10)) {
        (_, 0) => Vec::new(),
        ("woman", 1) | ("man", 1) => vec![gender.to_string()],
        ("woman", _) => vec!["man".into()],
        ("man", _) => vec!["woman".into()],
        _ => Vec::new(),
    };
    let age = rng.random_range(18..66);
    let birth_date = now
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date()
        .checked_sub(jiff::Span::new().years(age).days(rng.random_range(0..365)))
        .unwrap_or_default();
    let hub = hubs.choose(rng).map(|p| p.id);
    let interest_count = rng.random_range(2..7);
    let mut interests: Vec<String> = lists
        .interests
        .choose_multiple(rng, interest_count)
        .cloned()
        .collect();
    interests.sort();
    let bio = format!(
        "{} {}",
        BIO_OPENERS.choose(rng).unwrap_or(&""),
        BIO_CLOSERS.choose(rng).unwrap_or(&"")
    )
    .trim()
    .to_string();
    let photo_count = rng.random_range(0..4);
    let photos: Vec<Media> = templates
        .choose_multiple(rng, photo_count)
        .map(|t| Media {
            id: MediaId(uuid_v7(joined.as_millisecond(), rng.random())),
            owner: id,
            created_at: joined,
            ..t.clone()
        })
        .collect();
    let profile = Profile {
        member: id,
        display_name: format!("{first} {initial}."),
        birth_date,
        gender: gender.to_string(),
        wants,
        intent: lists
            .intents
            .choose(rng)
            .cloned()
            .unwrap_or_else(|| "friendship".into()),
        bio,
        interests,
        place: hub,
        photos: photos.iter().map(|m| m.id).collect(),
        time_zone: "UTC".into(),
        age_min: (age as u32).saturating_sub(8).max(18),
        age_max: age as u32 + 10,
        max_distance_km: None,
        paused: rng.random_bool(0.02),
        updated_at: joined,
    };
    let active = now - SignedDuration::from_mins(rng.random_range(1..60 * 24 * 30));
    (user, profile, photos, active.as_millisecond())
}

/// Generated photos (soft gradients with a few circles), put through the photo pipeline: the
/// variants are stored once, as any upload's would be.
fn make_templates(blobs: &BlobStore, rng: &mut StdRng, count: usize) -> Result<Vec<Media>, String> {
    let mut out = Vec::with_capacity(count);
    let dir = std::env::temp_dir().join(format!("hearth-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    for n in 0..count {
        let (w, h) = (800u32, 1000u32);
        let base: [u8; 3] = rng.random();
        let accent: [u8; 3] = rng.random();
        let circles: Vec<(f32, f32, f32)> = (0..4)
            .map(|_| {
                (
                    rng.random_range(0.0..w as f32),
                    rng.random_range(0.0..h as f32),
                    rng.random_range(60.0..260.0),
                )
            })
            .collect();
        let img = image::RgbImage::from_fn(w, h, |x, y| {
            let t = y as f32 / h as f32;
            let mut px = [0u8; 3];
            for c in 0..3 {
                px[c] = (f32::from(base[c]) * (1.0 - t) + f32::from(accent[c]) * t) as u8;
            }
            if circles
                .iter()
                .any(|(cx, cy, r)| (x as f32 - cx).powi(2) + (y as f32 - cy).powi(2) < r * r)
            {
                px = [255 - px[0], 255 - px[1], 255 - px[2]];
            }
            image::Rgb(px)
        });
        let path = dir.join(format!("demo-{n}.png"));
        img.save(&path).map_err(|e| e.to_string())?;
        let processed = photo::process(
            &path,
            Format::Png,
            crate::domain::media::DecodeLimits::DEFAULT,
        )
        .map_err(|e| format!("photo pipeline: {e}"))?;
        let mut variants = Vec::new();
        for (variant, bytes) in &processed.variants {
            let sha256 = blobs.put(bytes).map_err(|e| e.to_string())?;
            variants.push((
                *variant,
                BlobRef {
                    sha256,
                    size: bytes.len() as u64,
                    content_type: "image/webp".into(),
                },
            ));
        }
        out.push(Media {
            id: MediaId::from_u128(0),
            owner: UserId::from_u128(0),
            format: Format::Png,
            original_name: format!("demo-{n}.png"),
            upload_size: std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0),
            created_at: Timestamp::UNIX_EPOCH,
            state: MediaState::Ready,
            width: processed.width,
            height: processed.height,
            duration_ms: None,
            animated: false,
            blurhash: Some(processed.blurhash),
            original: None,
            poster: None,
            variants,
        });
    }
    let _ = std::fs::remove_dir_all(&dir);
    out.shuffle(rng);
    Ok(out)
}
