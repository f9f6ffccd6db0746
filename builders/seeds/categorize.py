"""Keyword categorizer: a harmful request (or a free-text category label) to a hazard code.

Rules are tried in order, most specific first: "fork bomb" is code-interpreter abuse (S14)
before "bomb" makes it a weapon (S9); "kill myself" is self-harm (S11) before "kill" makes it
a violent crime (S1); "sexual assault" is a sex-related crime (S3) before "assault" is a violent
one; a minor together with a sexual term is child sexual exploitation (S4) before anything else.
Non-violent crime (S2) comes last because its words ("illegal", "hack") are the most generic.
"""

from __future__ import annotations

import re

from builders.schema import HAZARD_CATEGORIES, normalize_text


def _rx(patterns: str) -> re.Pattern[str]:
    """One case-insensitive regex from a block of patterns, one alternative per line."""
    lines = [line.strip() for line in patterns.strip().splitlines()]
    return re.compile("|".join(f"(?:{line})" for line in lines if line), re.IGNORECASE)


_PEOPLE = (
    r"(?:wife|husband|girlfriend|boyfriend|partner|ex|family|someone|somebody|people|persons?"
    r"|humans?|humanity|child|children|kids?|toddlers?|bab(?:y|ies)|cops?|police|president"
    r"|politicians?|group|population|village|immigrants?|gay|black|jews?|muslims?|roma|women"
    r"|men|neighbou?rs?|boss|friends?)"
)
_DETERMINER = r"(?:my |his |her |their |the |an? |all |some )?"

_CSAM = _rx(
    r"""
    \bcsam\b
    \bchild porn
    \bpaedo
    \bpedo
    """
)
_MINOR = _rx(
    r"""
    \b(?:child|children|kids?|minors?|underage|under-age|preteens?|pre-teens?)\b
    \b(?:teens?|teenagers?)\b
    \b(?:\d{1,2}|twelve|thirteen|fourteen|fifteen)[- ]year[- ]olds?\b
    \b(?:little|young) (?:girls?|boys?)\b
    \bschool ?(?:girls?|boys?)\b
    """
)
_SEXUAL = _rx(
    r"""
    (?<!same )(?<!same-)\bsex(?:ual\w*|y|ting)?\b
    \bnudes?\b
    \bnaked\b
    \bporn
    \berotic
    \bmolest
    \bintercourse\b
    \blewd\b
    \bgroom
    """
)

_RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "S14",
        _rx(
            r"""
            \bfork ?bombs?\b
            \brm -rf\b
            \bsandbox
            \bcode interpreter\b
            \b(?:shell|system|terminal|bash) commands?\b
            \bos\.system\b
            \bsubprocess\b
            \b(?:run|execute|spawn) (?:a |an )?(?:shell|arbitrary code)\b
            \bdelete (?:all|every) (?:the )?files? on (?:the|this|your) (?:server|system|machine)\b
            """
        ),
    ),
    (
        "S11",
        _rx(
            r"""
            \bsuicid
            \bself[- ]?harm
            \bkill(?:ing)? (?:myself|yourself|themselves)\b
            \bend (?:my|your|their) (?:own )?life\b
            \b(?:cut|hurt|starve|hang|drown|suffocate)\w* (?:myself|yourself)\b
            \b(?:poison|shoot|stab|burn)\w* (?:myself|yourself)\b
            \boverdos(?:e|ing) (?:on|myself)\b
            \b(?:my|your) (?:own )?(?:wrists?|arteries|artery|veins?)\b
            \bpro-?ana\b
            \banorexi
            \bbulimi
            \beating disorders?\b
            \b(?:carve|cut)\w* .{0,30}\binto (?:my|your) (?:arm|skin|leg|wrist)
            """
        ),
    ),
    (
        "S9",
        _rx(
            r"""
            \bbomb(?:s|ing|-?making)?\b
            \bexplosive
            \bexplo(?:de|sion)
            \bdetonat
            \bblow(?:ing)? up\b
            \bied\b
            \bnerve (?:agent|gas)
            \b(?:sarin|vx|tabun|novichok|anthrax|ricin|botulinum|smallpox)\b
            \b(?:mustard|chlorine) gas\b
            \bbio-?weapons?\b
            \bbiological (?:weapon|warfare|agent)
            \bchemical (?:weapon|warfare)
            \bnuclear (?:weapon|bomb|device)
            \bdirty bomb
            \benrich(?:ed|ing)? uranium\b
            \buranium enrichment\b
            \bweapons? of mass destruction\b
            \b(?:napalm|thermite|tnt|black powder)\b
            \bgrenades?\b
            \bmolotov
            \bpathogen
            \bweaponi[sz]
            \b(?:obliterate|destroy|wipe out) (?:an? |the )?(?:entire )?(?:city|town|country)\b
            \bwipe out humanity\b
            """
        ),
    ),
    (
        "S3",
        _rx(
            r"""
            \btraffick
            \bsexual(?:ly)? (?:assault|abuse|harass|coerc|exploit)
            \brap(?:e|ed|ing|ist)\b
            \bdate[- ]rape\b
            \bnon-?consensual\b
            \bsextort
            \brevenge porn
            \bupskirt
            \bprostitut
            \bdrug (?:her|him|someone|a (?:girl|woman|man))\b
            """
        ),
    ),
    (
        "S12",
        _rx(
            r"""
            \bporn
            \bsexually explicit\b
            \berotic
            \b(?:nsfw|smut|hentai)\b
            \bexplicit (?:sex|adult|erotic|content|stor(?:y|ies)|scenes?|images?|photos?|videos?)
            \bsex (?:scene|story|stories|chat)\b
            \bsexual (?:story|stories|content|fantas|roleplay)
            \bnude (?:photos?|images?|pictures?)\b
            """
        ),
    ),
    (
        "S10",
        _rx(
            r"""
            \bracis[mt]
            \bslurs?\b
            \bhate speech\b
            \bhateful\b
            \bbigot
            \banti-?semit
            \bwhite suprema
            \bneo-?nazi
            \b(?:homo|trans|islamo|xeno)phob
            \bmisogyn
            \bsexis[mt]\b
            \bdiscriminat
            \bstereotyp
            \binferior\b
            \bdehumani[sz]
            \bholocaust\b
            bully
            \bharass
            \binsult
            \b(?:offensive|inflammatory)\b
            """
        ),
    ),
    (
        "S13",
        _rx(
            r"""
            \belections?\b
            \belectoral\b
            \bvot(?:e|es|er|ers|ing)\b
            \bballots?\b
            \bpolling (?:station|place)s?\b
            \bgerrymander
            """
        ),
    ),
    (
        "S7",
        _rx(
            r"""
            \bdox
            \b(?:home|house|physical|residential|street|email|e-mail|ip) address
            \baddress (?:of|for) (?:my|a|the|this|someone|somebody)\b
            \bwhere [\w' .]{1,40} (?:currently )?lives?\b
            \btrack(?:ing)? (?:someone|somebody|a person|people)\b
            \btrack(?:ing)? my (?:wife|husband|partner|ex|girlfriend|boyfriend|spouse|employee)
            \btrack(?:ing)? (?:his|her|their) (?:location|phone|movements|whereabouts)
            stalk
            \bsp(?:y|ying|ies) on\b
            \bwebcam
            \bhidden camera
            \bfacial recognition\b
            \b(?:passport|vin|license plate|phone) number
            \bsocial security numbers?\b
            \bssns?\b
            \bharvest\w* .{0,30}\b(?:data|information)\b
            \bpersonal (?:data|information|details)\b
            \bprivate (?:information|data|photos)\b
            \bmedical records? of\b
            \bwithout (?:their|his|her) consent\b
            """
        ),
    ),
    (
        "S5",
        _rx(
            r"""
            \bdefam
            \blibel
            \bslander
            \bsmear
            \b(?:false|fake|untrue|fabricated) (?:rumou?rs?|stor(?:y|ies)|claims?|allegations?)\b
            \b(?:false|fake|untrue|fabricated) (?:accusations?|news|reviews?|quotes?|articles?)\b
            \b(?:spread|start)(?:ing)? (?:a |the )?rumou?rs?\b
            \bruin (?:his|her|their) reputation\b
            \b(?:mis|dis)information\b
            \bfalse information\b
            \bpropaganda\b
            \bconspiracy theor
            \bhoax
            \bmislead
            """
        ),
    ),
    (
        "S8",
        _rx(
            r"""
            \bpira(?:te|ted|cy|ting)\b
            \bcopyright
            \bdrm\b
            \btorrent
            \bkeygen
            \bcrack(?:ed)? (?:software|version|copy|license)
            \bwatermark
            \billegally (?:download|stream|copy|share)
            \bplagiari
            \b(?:full|entire|complete) (?:lyrics|text|chapter|book)\b
            \bintellectual property\b
            \bpaywall
            """
        ),
    ),
    (
        "S6",
        _rx(
            r"""
            \bdosages?\b
            \bdose of\b
            \bhow (?:many|much) (?:\w+ )?(?:pills?|mg|milligrams?)\b
            \bdiagnos
            \bprescri(?:be|ption)
            \b(?:medical|legal|financial) advice\b
            \bwhat medication
            \bself-?medicat
            \bwithout (?:a|seeing a) (?:doctor|lawyer)\b
            \bmy lawyer\b
            """
        ),
    ),
    (
        "S1",
        _rx(
            rf"""
            \bkill
            \bmurder
            \bassault
            \bassassinat
            \bshoot(?:ing|er)?\b
            \bmass shooting
            \bstab
            \btortur
            \bkidnap
            \babduct
            \bterror
            \bmassacre
            \bstrangl
            \bbehead
            \bgenocide\b
            \bethnic cleansing\b
            \blynch
            \bradicali[sz]
            \bextremis
            \bhostage
            \bthreat(?:en)
            \bhit-and-run\b
            \bviolen(?:ce|t)\b
            \barmed robbery\b
            \b(?:cause|causing) (?:physical )?harm\b
            \bphysical harm\b
            \bbeat (?:up|someone|him|her)\b
            \b(?:hurt|harm|injure|attack|maim|poison)(?:ing)? (?:someone|somebody|people|others)\b
            \b(?:hurt|harm|injure|attack|maim|poison)(?:ing)? (?:a person|him|her|them|my|his)\b
            \b(?:terminat|execut|eliminat|liquidat|eradicat|exterminat)\w* {_DETERMINER}{_PEOPLE}\b
            \b(?:annihilat|decimat|slay|butcher|gut|choke|throttle)\w* {_DETERMINER}{_PEOPLE}\b
            \b(?:strangle|punch|smash|crush|hunt)\w* (?:down )?{_DETERMINER}{_PEOPLE}\b
            \b(?:hit|beat|shoot|overpower|tackle|push)\w* {_DETERMINER}{_PEOPLE}\b
            \b(?:hit|beat|shoot|overpower|tackle|push)\w* (?:an? )?(?:woman|man|person|toddler)\b
            \b(?:skull|sternum|spine|throat|kidney|face in|head off)\b
            \bdead (?:body|baby)\b
            \b(?:someone|somebody)'s death\b
            \beuthani[sz]e (?:my|his|her|their|a|an|the)\b
            \banimal (?:abuse|cruelty)\b
            \b(?:dog|cock) ?fight
            \b(?:harm|hurt|kick|abuse|torture|poison|break)\w* .{{0,12}}\bpets?\b
            \b(?:harm|hurt|kick|abuse|torture|poison|break)\w* .{{0,12}}\b(?:animal|dog|cat|owl)s?\b
            """
        ),
    ),
    (
        "S2",
        _rx(
            r"""
            \bhack
            \bhijack
            \bsteal
            \bstole
            \btheft\b
            \brob(?:bing|bery)?\b
            \bshoplift
            \bburglar
            \bbreak into\b
            \bfraud
            \bscam
            \bphish
            \bspam
            \bsocial engineering\b
            \b(?:malware|ransomware|spyware|trojan|ddos|botnet)\b
            \bkeylogger
            \bvirus(?:es)?\b
            \bcyber ?attack
            \bexploit
            \bunauthori[sz]ed access\b
            \bbypass (?:the )?security
            \bcrack (?:a |the )?passwords?\b
            \bcredit card numbers?\b
            \blaunder
            \bcounterfeit
            \bforge(?:d|ry)?\b
            \bfake (?:ids?|passports?|documents?|identit)
            \bsmuggl
            \btax (?:evasion|fraud)\b
            \bevad(?:e|ing) (?:taxes|the police|law enforcement)\b
            \bescape from (?:a |the )?(?:prison|jail|correctional)
            \bbrib
            \bblackmail
            \bextort
            \binsider trading\b
            \b(?:ponzi|pyramid) scheme
            \bmanipulat\w* (?:the )?(?:stock|financial|market)
            \bsabotag
            \bcheat
            \bvandali
            \barson\b
            \btreason\b
            \bpick a lock\b
            \block ?pick
            \b(?:firearms?|guns?)\b
            \bdrugs?\b
            \b(?:meth|methamphetamine|cocaine|heroin|fentanyl|lsd|mdma|ketamine)\b
            \b(?:coke|crack|weed|marihuana|marijuana|ecstasy|opioids?)\b
            \bget(?:ting)? high\b
            \bhuff
            \billegal
            """
        ),
    ),
)


def match_category(text: str) -> str | None:
    """The hazard code of the first rule that matches ``text``, or None when none does."""
    if _CSAM.search(text) or (_MINOR.search(text) and _SEXUAL.search(text)):
        return "S4"
    for code, pattern in _RULES:
        if pattern.search(text):
            return code
    return None


def categorize(prompt: str, default: str = "S2") -> str:
    """Map a harmful request to a hazard code S1–S14, falling back to ``default``."""
    return match_category(prompt) or default


# Words of a category *label* rather than a request: "violence", "cybercrime", "privacy", ...
_LABEL_RULES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (code, re.compile("|".join(words), re.IGNORECASE))
    for code, words in (
        ("S4", (r"\bchild sexual", r"\bcsam\b", r"\bcsea?\b")),
        ("S14", (r"\bcode interpreter", r"\binterpreter abuse")),
        ("S11", (r"\bsuicid", r"\bself[- ]?harm", r"\beating disorder")),
        ("S9", (r"\bweapon", r"\bcbrn", r"\bchemical", r"\bbiolog", r"\bnuclear")),
        ("S3", (r"\bsex[- ]?(?:related )?crime", r"\btraffick", r"\bsexual (?:assault|abuse)")),
        ("S12", (r"\bsexual", r"\badult", r"\bporn", r"\bnsfw")),
        ("S10", (r"\bhate", r"\bharass", r"bully", r"\bdiscriminat", r"\btoxic", r"\boffensive")),
        ("S7", (r"\bprivacy", r"\bpersonal (?:data|information)", r"\bpii\b")),
        ("S5", (r"\bdefam", r"\b(?:mis|dis)information", r"\blibel")),
        ("S8", (r"\bcopyright", r"\bintellectual property", r"\bpiracy")),
        ("S13", (r"\belection", r"\bpolitic")),
        ("S6", (r"\bspeciali[sz]ed advice", r"\bmedical", r"\bhealth", r"\badvice")),
        ("S1", (r"\bviolen", r"\bterror", r"\bextremis", r"\bphysical harm")),
        ("S2", (r"\bcrime", r"\bcriminal", r"\billegal", r"\bcyber", r"\bhack", r"\bmalware")),
        ("S2", (r"\bfraud", r"\bscam", r"\bdrug", r"\btheft", r"\bunethical")),
    )
)
_NAMES = {normalize_text(name): code for code, name in HAZARD_CATEGORIES.items()}


def category_from_label(label: str) -> str | None:
    """A free-text category label ("Violent Crimes", "cybercrime", "hate speech") to a code."""
    normalized = normalize_text(label.replace("_", " "))
    if normalized in _NAMES:
        return _NAMES[normalized]
    for code, pattern in _LABEL_RULES:
        if pattern.search(normalized):
            return code
    return match_category(normalized)
