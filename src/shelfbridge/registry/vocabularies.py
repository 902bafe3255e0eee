"""Closed vocabularies of the registry. Labels are message ids (English), translated by i18n.

Larger coded vocabularies that come from standards (TRL labels, GB/T 4754 sections) live as
data in ``reference/`` and the ``reference_terms`` table instead.
"""

from __future__ import annotations

PUBLIC, PARTNERS, INTERNAL = "public", "partners", "internal"

CONFIDENTIALITY = {
    PUBLIC: "Public",
    PARTNERS: "Partners",
    INTERNAL: "Internal",
}

ORGANIZATION_KINDS = {
    "university": "University",
    "research_institute": "Research institute",
    "national_lab": "National laboratory",
    "state_key_lab": "State key laboratory",
    "enterprise": "Enterprise",
    "fund": "Fund",
    "pilot_base": "Pilot-test base",
    "government": "Government body",
    "service_agency": "Service agency",
}

RESULT_KINDS = {
    "paper": "Paper",
    "invention_patent": "Invention patent",
    "utility_model": "Utility model",
    "design": "Design patent",
    "software_copyright": "Software copyright",
    "plant_variety": "New plant variety",
    "prototype": "Prototype",
    "process": "Process",
    "standard": "Standard",
    "other": "Other",
}

RESULT_STATUSES = {
    "draft": "Draft",
    "available": "Available",
    "in_negotiation": "In negotiation",
    "transferred": "Transferred",
    "archived": "Archived",
}

DEMAND_STATUSES = {
    "draft": "Draft",
    "open": "Open",
    "in_talks": "In talks",
    "closed": "Closed",
    "withdrawn": "Withdrawn",
}

DEGREES = {
    "bachelor": "Bachelor",
    "master": "Master",
    "phd": "PhD",
    "postdoc": "Postdoc",
    "other": "Other",
}

TITLES = {
    "professor": "Professor",
    "associate_professor": "Associate professor",
    "lecturer": "Lecturer",
    "researcher": "Researcher",
    "associate_researcher": "Associate researcher",
    "assistant_researcher": "Assistant researcher",
    "senior_engineer": "Senior engineer",
    "engineer": "Engineer",
    "phd_student": "PhD student",
    "postdoc": "Postdoctoral fellow",
    "other": "Other",
}

TRL_VOCABULARY = "trl"
INDUSTRY_VOCABULARY = "gbt4754_section"
