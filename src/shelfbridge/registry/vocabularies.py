"""Closed vocabularies of the registry. Labels are message ids (English), translated by i18n.

Larger coded vocabularies that come from standards (TRL labels, GB/T 4754 sections) live as
data in ``reference/`` and the ``reference_terms`` table instead.
"""

from __future__ import annotations

from shelfbridge.core.i18n import N_

PUBLIC, PARTNERS, INTERNAL = "public", "partners", "internal"

CONFIDENTIALITY = {
    PUBLIC: N_("Public"),
    PARTNERS: N_("Partners"),
    INTERNAL: N_("Internal"),
}

ORGANIZATION_KINDS = {
    "university": N_("University"),
    "research_institute": N_("Research institute"),
    "national_lab": N_("National laboratory"),
    "state_key_lab": N_("State key laboratory"),
    "enterprise": N_("Enterprise"),
    "fund": N_("Fund"),
    "pilot_base": N_("Pilot-test base"),
    "government": N_("Government body"),
    "service_agency": N_("Service agency"),
}

RESULT_KINDS = {
    "paper": N_("Paper"),
    "invention_patent": N_("Invention patent"),
    "utility_model": N_("Utility model"),
    "design": N_("Design patent"),
    "software_copyright": N_("Software copyright"),
    "plant_variety": N_("New plant variety"),
    "prototype": N_("Prototype"),
    "process": N_("Process"),
    "standard": N_("Standard"),
    "other": N_("Other"),
}

RESULT_STATUSES = {
    "draft": N_("Draft"),
    "available": N_("Available"),
    "in_negotiation": N_("In negotiation"),
    "transferred": N_("Transferred"),
    "archived": N_("Archived"),
}

DEMAND_STATUSES = {
    "draft": N_("Draft"),
    "open": N_("Open"),
    "in_talks": N_("In talks"),
    "closed": N_("Closed"),
    "withdrawn": N_("Withdrawn"),
}

DEGREES = {
    "bachelor": N_("Bachelor"),
    "master": N_("Master"),
    "phd": N_("PhD"),
    "postdoc": N_("Postdoc"),
    "other": N_("Other"),
}

TITLES = {
    "professor": N_("Professor"),
    "associate_professor": N_("Associate professor"),
    "lecturer": N_("Lecturer"),
    "researcher": N_("Researcher"),
    "associate_researcher": N_("Associate researcher"),
    "assistant_researcher": N_("Assistant researcher"),
    "senior_engineer": N_("Senior engineer"),
    "engineer": N_("Engineer"),
    "phd_student": N_("PhD student"),
    "postdoc": N_("Postdoctoral fellow"),
    "other": N_("Other"),
}

TRL_VOCABULARY = "trl"
INDUSTRY_VOCABULARY = "gbt4754_section"
