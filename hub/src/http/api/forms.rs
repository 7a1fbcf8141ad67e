//! The OpenAPI schemas of the two bodies whose fields go together: `POST /admin/announce`
//! (a track by position, or a free text) and `POST /admin/shows/{id}/tracks` (a SoundCloud URL,
//! or a record by title and artist). Each is a `oneOf` of its forms, every field with the range
//! the handler accepts, so that a request the document allows is one the hub takes, and one it
//! refuses is one the document rules out. The derive cannot say "this field, or else those", so
//! the schemas are built here by hand.

use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{
    AdditionalProperties, KnownFormat, ObjectBuilder, OneOfBuilder, Schema, SchemaFormat,
    SchemaType, Type,
};
use utoipa::{PartialSchema, ToSchema};

use super::admin::AddTrackBody;
use super::announce::AnnounceBody;

/// The largest track position: positions are 32-bit.
pub const MAX_POSITION: u32 = u32::MAX;

/// A text with something left once control characters and blanks are removed (what the
/// announce line keeps): one character that is none of them.
const ANNOUNCEABLE: &str =
    r"[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]";
/// A text that is not blank: one character that is not white space.
const NOT_BLANK: &str = r"[^\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]";
/// A host of letters, digits and inner hyphens (no `xn--` label, no bare number).
const HOST: &str = r"[A-Za-z][A-Za-z0-9]*(-[A-Za-z0-9]+)*(\.[A-Za-z][A-Za-z0-9]*(-[A-Za-z0-9]+)*)*";
/// An http(s) link (blanks around it are trimmed).
fn link_pattern() -> String {
    format!(r"^[\t-\r ]*https?://{HOST}(:[0-9]{{1,4}})?([/?#][!-~]*)?[\t-\r ]*$")
}
/// A SoundCloud page: a host on soundcloud.com and a path of at least one character.
/// (Path segments of plain characters only: `.` and `%2e` segments could leave a bare `/`.)
const SOUNDCLOUD_LINK: &str = r"^[\t-\r ]*https?://([A-Za-z][A-Za-z0-9]*(-[A-Za-z0-9]+)*\.)*soundcloud\.com(:[0-9]{1,4})?(/[A-Za-z0-9_-]+)+/?([?#][!-~]*)?[\t-\r ]*$";

fn integer(min: i64, max: u64, nullable: bool) -> ObjectBuilder {
    let kind = if nullable {
        SchemaType::from_iter([Type::Integer, Type::Null])
    } else {
        Type::Integer.into()
    };
    ObjectBuilder::new()
        .schema_type(kind)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
        .minimum(Some(min))
        .maximum(Some(max))
}

fn text(pattern: impl Into<String>, nullable: bool) -> ObjectBuilder {
    let kind = if nullable {
        SchemaType::from_iter([Type::String, Type::Null])
    } else {
        Type::String.into()
    };
    ObjectBuilder::new()
        .schema_type(kind)
        .pattern(Some(pattern))
}

/// A field of the other form: absent, or null.
fn absent() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::Null)
        .description(Some("Not in this form: leave it out (or null)"))
}

fn form(description: &str) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .description(Some(description))
        .additional_properties(Some(AdditionalProperties::<Schema>::FreeForm(false)))
}

fn position(description: &str, nullable: bool) -> ObjectBuilder {
    integer(1, MAX_POSITION.into(), nullable).description(Some(description))
}

fn seq_to_correct() -> ObjectBuilder {
    integer(0, i64::MAX as u64, true).description(Some(
        "The seq of an earlier announce this one corrects (the line gets the correction \
         template around it); 409 unless it names an uncorrected announce of the last 24 hours",
    ))
}

fn log_only() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::Boolean, Type::Null]))
        .description(Some(
            "Only log it, at `at` (a track played while the DJ could not announce it): in the \
             show's log and tracklist, sent to no one; not with `corrects`",
        ))
}

fn logged_at() -> ObjectBuilder {
    text(r"^\d{4}-\d{2}-\d{2}T", true)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
        .description(Some(
            "With `log_only` (and only then): when it played, from the show week's start to \
             the end of its live window, not in the future (else 422)",
        ))
}

fn track_id() -> ObjectBuilder {
    integer(0, i64::MAX as u64, true).description(Some(
        "The `id` of the track meant, as the show listed it (0 for a record whose `id` is \
         null); when another track is at the position now, 409 and nothing is announced",
    ))
}

/// A show's slug, as `[[shows]]` defines them.
fn show_slug(description: &str) -> ObjectBuilder {
    text("^[a-z0-9-]{1,32}$", false).description(Some(description))
}

/// A track by position, of the week `which` names (`show_id`, `show` or neither).
fn track_form(which: Option<&str>) -> ObjectBuilder {
    let (description, show_id, show) = match which {
        Some("show_id") => (
            "A track by position of a week by its id",
            integer(i64::MIN, i64::MAX as u64, false)
                .description(Some("The show week (404 if none)")),
            absent(),
        ),
        Some(_) => (
            "A track by position of a show's current week",
            absent(),
            show_slug("The show's slug (404 if the station has none such)"),
        ),
        None => (
            "A track by position of the current show (the one on air, or the only one; 422 \
             naming the slugs when several are configured and none is on air)",
            absent(),
            absent(),
        ),
    };
    let form = form(description)
        .property(
            "position",
            position(
                "The track's position (404 if the show has no track there)",
                false,
            ),
        )
        .required("position")
        .property("show_id", show_id)
        .property("show", show)
        .property("track_id", track_id())
        .property("corrects", seq_to_correct())
        .property("log_only", log_only())
        .property("at", logged_at())
        .property("text", absent());
    match which {
        Some(field) => form.required(field),
        None => form,
    }
}

impl PartialSchema for AnnounceBody {
    fn schema() -> RefOr<Schema> {
        let line = form("A free line")
            .property(
                "text",
                text(ANNOUNCEABLE, false).description(Some(
                    "Announced as given, control characters removed and blanks collapsed: \
                     something must be left",
                )),
            )
            .required("text")
            .property(
                "show",
                show_slug(
                    "The show the line is for (404 if none such); without it, the show on air, \
                     else the whole station",
                ),
            )
            .property("corrects", seq_to_correct())
            .property("log_only", log_only())
            .property("at", logged_at())
            .property("position", absent())
            .property("show_id", absent())
            .property("track_id", absent());
        OneOfBuilder::new()
            .description(Some(
                "What to announce: a track by position (of the current show, of `show`'s \
                 current week, or of the week `show_id`), or a free line",
            ))
            .item(track_form(None))
            .item(track_form(Some("show_id")))
            .item(track_form(Some("show")))
            .item(line)
            .into()
    }
}

impl ToSchema for AnnounceBody {}

impl PartialSchema for AddTrackBody {
    fn schema() -> RefOr<Schema> {
        let insert_at = || {
            position(
                "Insert before the track now at this position (1 to n+1, else 409); appended \
                 when absent",
                true,
            )
        };
        let soundcloud = form(
            "A SoundCloud track, resolved by SoundCloud (404 if it knows none there). A URL on \
             the hub's configured SoundCloud web address is taken too",
        )
        .property(
            "url",
            text(SOUNDCLOUD_LINK, false).description(Some("The track's SoundCloud page")),
        )
        .required("url")
        .property("position", insert_at())
        .property("title", absent())
        .property("artist", absent());
        let record = form("A record as given, not looked up")
            .property("title", text(NOT_BLANK, false))
            .required("title")
            .property("artist", text(NOT_BLANK, false))
            .required("artist")
            .property(
                "url",
                text(format!(r"^[\t-\r ]*$|{}", link_pattern()), true)
                    .description(Some("An http(s) link to the record; none when blank")),
            )
            .property("position", insert_at());
        OneOfBuilder::new()
            .description(Some(
                "A track to add: a SoundCloud URL, or a record's title and artist",
            ))
            .item(soundcloud)
            .item(record)
            .into()
    }
}

impl ToSchema for AddTrackBody {}
