"""The standard (system) activity types seeded read-only at install, modelled on Marketo's built-ins."""

from __future__ import annotations

from app.domain.activity_types import ActivityTypeDefinition, FieldSpec
from app.domain.activity_types import FieldDataType as T


def _f(api_name: str, name: str, data_type: T, description: str, **constraints: object) -> FieldSpec:
    return FieldSpec(api_name=api_name, name=name, data_type=data_type, description=description, **constraints)  # type: ignore[arg-type]


_IP = _f("clientIpAddress", "Client IP Address", T.STRING, "IP address of the visitor.", max_length=45)
_UA = _f("userAgent", "User Agent", T.TEXT, "Browser or mail client user agent.", max_length=2048)
_REFERRER = _f("referrerUrl", "Referrer URL", T.LINK, "Page the visitor came from.")
_PAGE = _f("webpageUrl", "Webpage URL", T.LINK, "Page on which it happened.")
_QUERY = _f("queryParameters", "Query Parameters", T.TEXT, "Query string of the page URL.", max_length=2048)
_CAMPAIGN = _f("campaignName", "Campaign Name", T.STRING, "Campaign that sent the email.")
_DEVICE = _f("device", "Device", T.STRING, "Device the email was read on.")
_PLATFORM = _f("platform", "Platform", T.STRING, "Operating system or mail platform.")
_MOBILE = _f("isMobileDevice", "Is Mobile Device", T.BOOLEAN, "Whether the device was mobile.")
_BOT = _f("isBotActivity", "Is Bot Activity", T.BOOLEAN, "Whether the activity looks automated (link scanners).")
_EMAIL = _f("emailName", "Email Name", T.STRING, "Name of the email asset.", required=True)


def _type(
    api_name: str, name: str, trigger: str, filter_: str, description: str, primary: FieldSpec, *fields: FieldSpec
) -> ActivityTypeDefinition:
    return ActivityTypeDefinition(
        api_name=api_name,
        name=name,
        trigger_name=trigger,
        filter_name=filter_,
        description=description,
        primary_field=primary,
        fields=tuple(fields),
    )


STANDARD_TYPES: tuple[ActivityTypeDefinition, ...] = (
    _type(
        "visitWebpage", "Visit Webpage", "Visits Web Page", "Visited Web Page", "A person viewed a web page.",
        _f("webpageUrl", "Webpage URL", T.LINK, "The page viewed.", required=True),
        _REFERRER, _QUERY, _IP, _UA,
        _f("searchEngine", "Search Engine", T.STRING, "Search engine that referred the visit."),
        _f("searchQuery", "Search Query", T.STRING, "Search terms that led to the page."),
    ),
    _type(
        "fillOutForm", "Fill Out Form", "Fills Out Form", "Filled Out Form", "A person submitted a form.",
        _f("formName", "Form Name", T.STRING, "The form submitted.", required=True),
        _PAGE, _REFERRER, _QUERY, _IP, _UA,
        _f("formFields", "Form Fields", T.TEXT, "Submitted values, serialised."),
    ),
    _type(
        "clickLink", "Click Link", "Clicks Link", "Clicked Link", "A person clicked a link on a web page.",
        _f("linkUrl", "Link URL", T.LINK, "The link clicked.", required=True),
        _PAGE, _REFERRER, _QUERY, _IP, _UA,
    ),
    _type(
        "sendEmail", "Send Email", "Is Sent Email", "Was Sent Email", "An email was sent to a person.",
        _EMAIL, _CAMPAIGN,
        _f("stepId", "Step ID", T.INTEGER, "Campaign flow step.", min_value=0),
    ),
    _type(
        "emailDelivered", "Email Delivered", "Email is Delivered", "Was Delivered Email",
        "An email reached the person's mail server.",
        _EMAIL, _CAMPAIGN,
        _f("stepId", "Step ID", T.INTEGER, "Campaign flow step.", min_value=0),
        _f("choiceNumber", "Choice Number", T.INTEGER, "Flow choice that sent it.", min_value=0),
    ),
    _type(
        "emailBounced", "Email Bounced", "Email Bounces", "Email Bounced",
        "An email could not be delivered.",
        _EMAIL, _CAMPAIGN,
        _f("category", "Category", T.STRING, "Bounce category.", allowed_values=("hard", "soft")),
        _f("details", "Details", T.TEXT, "Server response."),
    ),
    _type(
        "unsubscribeEmail", "Unsubscribe Email", "Unsubscribes from Email", "Unsubscribed from Email",
        "A person unsubscribed from email.",
        _EMAIL, _CAMPAIGN, _IP, _UA,
    ),
    _type(
        "openEmail", "Open Email", "Opens Email", "Opened Email", "A person opened an email.",
        _EMAIL, _CAMPAIGN, _DEVICE, _PLATFORM, _UA, _MOBILE, _BOT,
    ),
    _type(
        "clickEmail", "Click Email", "Clicks Link in Email", "Clicked Link in Email",
        "A person clicked a link in an email.",
        _EMAIL,
        _f("link", "Link", T.LINK, "The link clicked."),
        _CAMPAIGN, _DEVICE, _PLATFORM, _UA, _MOBILE, _BOT,
    ),
    _type(
        "newPerson", "New Person", "Person is Created", "Was Created", "A person was created.",
        _f("source", "Source", T.STRING, "How the person arrived (form fill, list import, API...).", required=True),
        _f("formName", "Form Name", T.STRING, "Form that created the person, if any."),
        _f("listName", "List Name", T.STRING, "Imported list that created the person, if any."),
        _f("createdBy", "Created By", T.STRING, "User or integration that created the person."),
    ),
    _type(
        "changeDataValue", "Change Data Value", "Data Value Changes", "Data Value Was Changed",
        "A person attribute changed value.",
        _f("attributeName", "Attribute Name", T.STRING, "The attribute that changed.", required=True),
        _f("oldValue", "Old Value", T.TEXT, "Value before the change."),
        _f("newValue", "New Value", T.TEXT, "Value after the change."),
        _f("reason", "Reason", T.STRING, "Why it changed."),
        _f("source", "Source", T.STRING, "What changed it (web service API, smart campaign...)."),
    ),
    _type(
        "changeScore", "Change Score", "Score is Changed", "Score Was Changed", "A person's score changed.",
        _f("scoreName", "Score Name", T.STRING, "The score that changed.", required=True),
        _f("change", "Change", T.INTEGER, "Points added (negative when removed)."),
        _f("newValue", "New Value", T.INTEGER, "Score after the change."),
        _f("reason", "Reason", T.STRING, "Why it changed."),
    ),
)
