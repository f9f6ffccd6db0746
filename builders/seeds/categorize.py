"""Keyword categorizer: a harmful request (or a free-text category label) to a hazard code.

Two tiers of hand-written keyword rules, both reported as ``category_source = "rule"``:

1. *Specific rules*, tried in order, most specific first: "fork bomb" is code-interpreter abuse
   (S14) before "bomb" makes it a weapon (S9); "kill myself" is self-harm (S11) before "kill"
   makes it a violent crime (S1); a minor together with a sexual term is child sexual
   exploitation (S4) before anything else; a generalisation about a group of people ("why are
   all <group> ...", "<group> should not be allowed to vote") is hate (S10) before the words
   of the generalisation ("terrorists", "vote") point elsewhere. Non-violent crime (S2) comes
   last because its words ("illegal", "hack") are the most generic.
2. *Cue words*: weaker per-code vocabulary ("revenge", "sneak", "embarrass"); the code with the
   most cues wins, ties go to the earlier code in ``_CUES``.

A request no rule matches is *unsure*: :func:`label_request` then returns the ``fallback``
source, with a guess from word overlap with the labelled exemplars and a low confidence, never
a silent default. ``builders.seeds.hazards`` adds the preset labels and the embedding route.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from builders.schema import HAZARD_CATEGORIES, normalize_text

# Confidence of each route (see builders.seeds.hazards for the embedding route's own score).
SPECIFIC_RULE_CONFIDENCE = 0.8
CUE_CONFIDENCE = 0.5
FALLBACK_GUESS_CONFIDENCE = 0.2
FALLBACK_DEFAULT_CONFIDENCE = 0.1


@dataclass(frozen=True)
class HazardLabel:
    """A hazard code with what decided it (``preset``, ``rule``, ``embedding``, ``fallback``)
    and a confidence in [0, 1]; ``detail`` says which rule, label or neighbours decided."""

    code: str
    source: str
    confidence: float
    detail: str = ""


def _rx(patterns: str) -> re.Pattern[str]:
    """One case-insensitive regex from a block of patterns, one alternative per line."""
    lines = [line.strip() for line in patterns.strip().splitlines()]
    return re.compile("|".join(f"(?:{line})" for line in lines if line), re.IGNORECASE)


_PEOPLE = (
    r"(?:wife|husband|girlfriend|boyfriend|partner|ex|family|someone|somebody|people|persons?"
    r"|humans?|humanity|child|children|kids?|toddlers?|bab(?:y|ies)|cops?|police|president"
    r"|politicians?|group|population|village|immigrants?|gay|black|jews?|muslims?|roma|women"
    r"|men|neighbou?rs?|boss|friends?|brother|sister|mother|father|mom|dad|teacher|coworker"
    r"|colleague|roommate|guy|girl|woman|man|person|stranger)"
)
_DETERMINER = r"(?:my |his |her |their |the |an? |all |some |your |our |this |that )?"
_ANIMALS = (
    r"(?:animals?|dogs?|cats?|owls?|pets?|birds?|horses?|cows?|pigs?|chickens?|ducks?|rats?"
    r"|mice|rabbits?|squirrels?|deer|reindeer|elephants?|rhinos?|rhinoceros|tigers?|lions?"
    r"|leopards?|cheetahs?|bears?|wolf|wolves|foxes|fox|monkeys?|apes?|gorillas?|sloths?"
    r"|ostrich(?:es)?|penguins?|whales?|dolphins?|sharks?|snakes?|frogs?|turtles?|goats?"
    r"|sheep|hamsters?|parrots?|mongoose|koalas?|pandas?|giraffes?|zebras?|camels?|bats?"
    r"|geese|goose|swans?|pigeons?|puppy|puppies|kittens?|wildlife|endangered species|otters?"
    r"|warthogs?|hyenas?|moose|bison|buffalo(?:es)?|crocodiles?|alligators?|eagles?|hawks?|seals?"
    r"|kangaroos?|hippos?|beavers?|raccoons?|skunks?|possums?|hedgehogs?|ferrets?|lambs?|calf"
    r"|calves|bulls?|donkeys?|llamas?|peacocks?|flamingos?|crows?|fish|goldfish|octopus(?:es)?"
    r"|macaws?|vipers?|pit vipers?|turtles?|tortoises?|baboons?|walrus(?:es)?)"
)
# Groups that hateful generalisations target. "<nationality> people" is matched by its suffix.
_GROUP = _rx(
    r"""
    \b(?:muslims?|islam|islamic|quran|sharia|jews?|jewish|judaism|christians?|catholics?|hindus?|sikhs?|atheists?|mormons?)\b
    \b(?:arabs?|blacks?|negro(?:es)?|whites?|asians?|latinos?|latinas?|hispanics?|mexicans?|africans?|chinese|koreans?|gypsies|gypsy|roma)\b
    \b(?:immigrants?|immigration|migrants?|migration|refugees?|foreigners?|multicultural\w*|islamized|islamised)\b
    \b(?:women|woman|females?|girls|men|males|feminis[mt]s?|misandrists?|non-binary|gender roles?)\b
    \b(?:gays?|lesbians?|homosexuals?|homosexuality|queers?|trans(?:gender)?|lgbt\w*|bisexuals?)\b
    \b(?:disabled|disabilit(?:y|ies)|down syndrome|autistic|mentally (?:ill|disabled)|retard\w*|fat (?:people|person)|overweight|obese)\b
    \b(?:elderly|old people|poor people|people who are poor|homeless|people on benefits|incarcerated)\b
    \b(?:minorit(?:y|ies)|races?|racial|ethnic\w*|religions?|skin colou?r|interracial|certain countries|nations?)\b
    \b[a-z]+(?:an|ese|ish|ian|i|ic|ch|ek|ss) (?:people|women|men|folks?|person|population)\b
    \bpeople (?:of|from) (?:a |an )?(?:certain|other|different|another) \w+
    \bpeople who (?:are|identify|do not|don't) \w+
    \bindividuals (?:who|from|with) \w+
    """
)
# ...together with wording that generalises about, demeans or excludes the group.
_JUDGEMENT = _rx(
    r"""
    \bwhy\b
    \breasons?\b
    \bshould(?:n't| not)?\b
    \bmust(?:n't| not)?\b
    \bdeserve
    \b(?:are|is) (?:all |just |only |nothing but |naturally |inherently |genetically |so |more |less |a )
    \b(?:inferior|superior|burden|abnormal|disease|vermin|subhuman|invasion|invad\w*|flood\w*|thugs|degenerates?)\b
    \b(?:bad|worst|negative) (?:qualities|behaviou?rs|things|traits|light)\b
    \bdisadvantages\b
    \b(?:vilif|oppress|isolat|exclud|segregat|restrict|deport|expel|ban)\w*
    \bget rid of\b
    \blimit\w* (?:the )?(?:education|rights|access)\b
    \bonly hire\b
    \b(?:identify|spot|tell) (?:people|someone) who (?:are|is)\b
    \bperceived as\b
    \b(?:hate|despise|can't stand)\b
    \b(?:traits|things) (?:associated with|about)\b
    \bstereotyp
    \b(?:prevent|stop|keep|ban)\w* (?:[\w'’]+ ){0,3}(?:from|out of|out)\b
    \b(?:rank|compare|comparing|differences? (?:in|between))\b
    """
)
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
Matcher = Callable[[str], "str | None"]


def _searcher(pattern: re.Pattern[str]) -> Matcher:
    def search(text: str) -> str | None:
        match = pattern.search(text)
        return match.group() if match else None

    return search


def _group_generalisation(text: str) -> str | None:
    group, judgement = _GROUP.search(text), _JUDGEMENT.search(text)
    return f"{group.group()} + {judgement.group()}" if group and judgement else None


_PRIVATE_ATTRIBUTE = _rx(
    r"""
    \b\w+'s (?:[\w'’]+ ){0,2}(?:pin|password|passcode|login|date of birth|birthday|sexual orientation|immigration status|marital status|political (?:affiliation|views)|religious beliefs|religion|criminal (?:history|record)|browsing history|search history|mental health|health history|medical \w+|salary|income|home address|address|phone number|email address|birth certificate|\w+ license number|social security \w+|bank \w+|credit card \w+|passport \w+|location)\b
    \bhow much (?:money )?(?:does|did) (?:my|his|her|their|the) \w+ (?:earn|make|have)\b
    \b(?:is|are) (?:my|his|her) \w+ (?:a member of|gay|pregnant|sick)\b
    """
)

_RULES: tuple[tuple[str, Matcher], ...] = (
    (
        "S14",
        _searcher(
            _rx(
                r"""
            \bfork ?bombs?\b
            \brm -rf\b
            \bsandbox
            \bcode (?:interpreter|tool|execution tool)\b
            \b(?:python|code|your) (?:tool|interpreter)\b
            \b(?:shell|system|terminal|bash) commands?\b
            \bos\.system\b
            \bsubprocess\b
            \b(?:run|execute|spawn) (?:a |an )?(?:shell|arbitrary code)\b
            \bdelete (?:all|every) (?:the )?files? on (?:the|this|your) (?:server|system|machine)\b
            \bescape (?:the|this|a) (?:container|sandbox|vm)\b
            \bcontainer escape
            \bprivilege escalation\b
            \bescalat\w* (?:[\w'’]+ )?privileges?\b
            \b(?:gain|get)\w* root (?:access|privileges)\b
            \b(?:dirty ?cow|dirty ?pipe)\b
            \bkernel (?:exploit|vulnerabilit)
            \breverse shell\b
            """
            )
        ),
    ),
    (
        "S11",
        _searcher(
            _rx(
                r"""
            \bsuicid
            \bself[- ]?harm
            \bkill(?:ing)? (?:myself|yourself|themselves|oneself)\b
            \bend (?:my|your|their|one's) (?:own )?life\b
            \b(?:cut|hurt|starve|hang|drown|suffocate|harm)\w* (?:myself|yourself|oneself)\b
            \b(?:poison|shoot|stab|burn)\w* (?:myself|yourself)\b
            \boverdos(?:e|ing)\b
            \b(?:my|your) (?:own )?(?:wrists?|arteries|artery|veins?)\b
            \bpro-?ana\b
            \bthinspo
            \banorexi
            \bbulimi
            \beating disorders?\b
            \b(?:carve|cut)\w* .{0,30}\binto (?:my|your) (?:arm|skin|leg|wrist)
            \b(?:not|never) wake up\b
            \bwant to die\b
            \binstant death if (?:i |you )?jump
            \bnoose\b
            \b(?:squeeze|choke|hurt)\w* (?:your|my) own [\w'’ ]{0,15}to death\b
            """
            )
        ),
    ),
    ("S10", _group_generalisation),
    ("S7", _searcher(_PRIVATE_ATTRIBUTE)),
    (
        "S9",
        _searcher(
            _rx(
                r"""
            \bbomb(?:s|ing|-?making)?\b
            \bexplosive
            \bexplo(?:de|sion)
            \bdetonat
            \bblow(?:ing|s)? up\b
            \bied\b
            \bdynamite\b
            \bnerve (?:agent|gas)
            \b(?:sarin|vx|tabun|soman|novichok|anthrax|ricin|botulinum|botulism|smallpox|ebola|plague bacteri\w*)\b
            \b(?:mustard|chlorine|phosgene|poison) gas\b
            \b(?:lewisite|phosgene|hydrogen cyanide|tetrodotoxin)\b
            \bbio-?weapons?\b
            \bbiolog\w* (?:weapon|warfare|agent|attack)
            \bchemical (?:weapon|warfare|attack|agent)
            \bnuclear (?:weapon|bomb|device|attack)
            \bdirty bomb
            \b(?:enrich(?:ed|ing)?|weapons?-grade) uranium\b
            \buranium enrichment\b
            \bplutonium\b
            \bradioactive (?:material|substance|waste)
            \bweapons? of mass destruction\b
            \b(?:napalm|thermite|tnt|tatp|anfo|c-?4|black powder|gunpowder)\b
            \bnuke\b
            \bhomemade fireworks\b
            \bgrenades?\b
            \bmolotov
            \bpathogen
            \bweaponi[sz]
            \b(?:spread|release|unleash)\w* (?:a |the )?(?:deadly |lethal )?(?:virus|disease|pandemic|toxin|bacteria)
            \bpoison (?:a|the|our|their) (?:city's )?water (?:supply|reservoir)
            \b(?:tamper|contaminat)\w* (?:with )?(?:a |the )?(?:city's )?water supply
            \b(?:obliterate|destroy|wipe out) (?:an? |the )?(?:entire )?(?:city|town|country)\b
            \bwipe out humanity\b
            \bexterminate (?:all of )?humanity\b
            \bmass casualt
            """
            )
        ),
    ),
    (
        "S3",
        _searcher(
            _rx(
                r"""
            \btraffick
            \bsexual(?:ly)? (?:assault|abuse|harass|coerc|exploit)
            \brap(?:e|ed|es|ing|ist|ists)\b
            \bdate[- ]rape\b
            \bnon-?consensual\b
            \bwithout (?:her|his|their) consent\b.{0,40}\b(?:sex|touch|photo|nude|film)
            \bsextort
            \brevenge porn
            \bupskirt
            \bprostitut
            \bhookers?\b
            \bescort (?:ring|service|agency)
            \bpimp
            \bsex (?:slaves?|work(?:ers?)?|trade|for rent)\b
            \bsexual services\b
            \b(?:buy|sell|buying|selling) (?:a )?(?:slaves?|women|girls|people)\b
            \bslaves?\b
            \bdrug (?:her|him|someone|a (?:girl|woman|man))\b
            \b(?:pressure|coerce|force|manipulate)\w* (?:[\w'’]+ ){0,3}(?:into|to have) (?:sex|sleeping|bed)\b
            \b(?:make|get|convince|force) (?:women|a woman|a girl|her|someone) (?:to )?(?:have sex|sleep with)\b
            \b(?:grope|groping|flash(?:ing)? (?:my|your)|expose (?:myself|yourself))\b
            \bspike (?:[\w'’]+ ){0,2}drinks?\b
            \bspanish fly\b
            \broofies?\b
            \bcall girls?\b
            \bchild brides?\b
            \bsell (?:a |my |your |his |her )?(?:baby|babies|child|children|kids?|little sister|little brother|daughter|son)\b
            \bsex objects?\b
            \b(?:take advantage of|knock out) (?:a |the )?(?:drunk|unconscious)\b
            """
            )
        ),
    ),
    (
        "S12",
        _searcher(
            _rx(
                r"""
            \bporn
            \bsexually explicit\b
            \berotic
            \b(?:nsfw|smut|hentai|x-rated)\b
            \bexplicit (?:sex|adult|erotic|content|stor(?:y|ies)|scenes?|images?|photos?|videos?|details?)
            \bsex (?:scene|story|stories|chat|tape|positions?|toys?|acts?)\b
            \bsexual (?:story|stories|content|fantas|roleplay|positions?|acts?|experiences?)
            \bnude (?:photos?|images?|pictures?)\b
            \b(?:titties|tits|boobs|breasts|penis|cock|dick|pussy|pusst|vagina|genitals?|orgasm\w*|blowjob|anal|butt stuff|horniness|horny)\b
            \b(?:have|having) sex\b
            \bsleep(?:ing)? with (?:my|your|his|her|a|the|married|someone|women|men)\b
            \b(?:threesome|orgy|one[- ]night stands?|booty call|sexting|talk dirty|dirty talk|golden shower|naughty stor\w+|cum|bodily orifice|lick (?:[\w'’]+ ){0,2}butt|unprotected sex)\b
            \bbedroom (?:games|activities)\b
            \bgood (?:at sex|in bed)\b
            \b(?:fuck|fucking)\b
            \bbestiality\b
            \bmake love\b
            \bto sleep with\b
            \b(?:go|going) (?:down on|all the way)\b
            \bswingers\b
            \bhot carl\b
            \b(?:pussies|sluts?|suck(?:ed)? (?:\w+ )?(?:feet|toes|dick|cock))\b
            \bfor sex\b
            \bbreast milk\b
            \bsleep with (?:you|me|him|her)\b
            \b(?:take|taking) (?:someone|somebody|her|him) from behind\b
            \bunderwear\b
            \b(?:dildos?|vibrators?|masturbat\w*|sex toys?)\b
            \bsex with (?:an? )?(?:animal|dog|horse|chicken|duck|goat|corpse)
            \bnecrophil
            \bstrip ?(?:club|tease)\b
            """
            )
        ),
    ),
    (
        "S10",
        _searcher(
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
            \bnazis?\b
            \b(?:homo|trans|islamo|xeno)phob
            \bmisogyn
            \bsexis[mt]\b
            \bdiscriminat
            \bstereotyp
            \binferior\b
            \bdehumani[sz]
            \bholocaust\b
            \bn-?word\b
            \bnigg
            \bgaslight
            \bwhite nationalis
            \bkkk\b
            \bching chong\b
            \bgingers? (?:don't|do not) have souls\b
            \bhijab\b
            \b(?:humorous|funny|mean|rude) (?:names|things|nicknames|comments?) (?:to call|for|about)\b
            \bmake (?:someone|somebody|him|her|them) cry\b
            \bpeople (?:you|i) hate\b
            \bpresence of (?:lgbt\w*|gay|trans|black|jewish|muslim)\b
            \bapartheid\b
            \bhitler\b
            \bmake fun of\b
            \bmess(?:ing)? with (?:old|disabled|fat|gay|black|poor) people\b
            \b(?:curse|cuss|swear) ?words?\b
            \bcussing\b
            \b(?:motherfucker|bitch|cunt|asshole)\b
            \bhurtful\b
            \bslutt?(?:y|iest|ier)\b
            \bcrab mentality\b
            \blittle people\b
            \btoxic memes?\b
            \bruin (?:someone's|somebody's|his|her|their) life\b
            \bget (?:someone|somebody|him|her) fired\b
            \binterracial (?:relationship|marriage|couple)
            \b(?:tards?|retards?|faggots?|fags?|dykes?|kikes?|spics?|chinks?|wetbacks?|tranny|trannies|pansy|towelheads?)\b
            bully
            \bharass
            \binsult
            \b(?:offensive|derogatory|demeaning|degrading) (?:term|word|name|nickname|joke|slang|remark)s?\b
            \b(?:offensive|inflammatory)\b
            \bjokes? (?:about|that mock|mocking|on)\b
            \b(?:mock|mocking|ridicule|humiliat)\w* (?:[\w'’]+ ){0,2}(?:people|person|group|muslims?|jews?|christians?|women|gays?|koreans?|chinese|disabled|immigrants?)
            \bimpression of an? (?:[\w'’]+ )?(?:person|jew|muslim|asian|black|indian|chinese|gay)
            \bhate (?:mail|letter|campaign|group)\b
            \b(?:loser|ugly|stupid|dumb|idiot|moron|worthless|disgusting)\b.{0,40}\b(?:tell|call|say|name|letter|message|note)
            \b(?:tell|call|say|name|letter|message|note)\b.{0,40}\b(?:loser|ugly|stupid|dumb|idiot|moron|worthless|disgusting)\b
            \bworst (?:race|religion|country|ethnicity|nationality|gender)\b
            \b(?:dumbest|ugliest|laziest|dirtiest|smelliest) (?:population|people|race|country|nationality)\b
            \b(?:smell bad|smelly) .{0,20}\bpeople\b
            \bpeople .{0,30}\b(?:smell bad|are slow and lazy|are thugs|are terrorists)\b
            """
            )
        ),
    ),
    (
        "S13",
        _searcher(
            _rx(
                r"""
            \belections?\b
            \belectoral\b
            \bvot(?:e|es|er|ers|ing)\b
            \bballots?\b
            \bpolling (?:station|place)s?\b
            \bpolls\b
            \bgerrymander
            """
            )
        ),
    ),
    (
        "S7",
        _searcher(
            _rx(
                r"""
            \bdox
            \b(?:home|house|physical|residential|street|email|e-mail|ip|current|mailing|new) address
            \baddress (?:of|for|listed on) (?:my|a|the|this|someone|somebody|an?)\b
            \baddress(?:es)? of (?:[\w'’]+ ){0,3}(?:house|home|people|person|actor|singer)\b
            \bwhere [\w' .]{1,40} (?:currently )?lives?\b
            \bwhere (?:a|my|his|her|the|this) (?:[\w'’]+ ){0,2}(?:lives|works|parks|sleeps)\b
            \btrack(?:ing)? (?:someone|somebody|a person|people|my|his|her|their)\b
            \btrack\w* (?:[\w'’]+ ){0,3}(?:location|phone|movements|whereabouts|car)\b
            stalk
            \bsp(?:y|ying|ies) on\b
            \bsnoop
            \bbug (?:my |your |his |her |a |the )?(?:[\w'’]+ )?(?:phone|laptop|room|office|car)\b
            \bwebcam
            \bhidden cameras?\b
            \bfacial recognition\b
            \b(?:passport|vin|license plate|phone|cell ?phone|mobile|telephone|bank account|account|credit card|debit card|routing|pin|ssn) (?:number|numbers|details|information|info)\b
            \b(?:passcode|password|pin code|login|unlock code|security code) (?:of|for|to) (?:[\w'’]+ ){0,2}(?:phone|account|email|laptop|computer|iphone)\b
            \b(?:iphone|phone|email|account)'?s? (?:passcode|password)\b
            \bpasscode\b
            \bsocial security (?:numbers?|information|details|check)\b
            \bssns?\b
            \bbank (?:information|details|records|statements?)\b
            \b(?:mortgage|loan|salary|income|net worth) (?:amount|balance|information|details)\b
            \bleft on (?:his|her|their) mortgage\b
            \bharvest\w* .{0,30}\b(?:data|information)\b
            \bpersonal (?:data|information|details|info)\b
            \bprivate (?:information|data|photos|messages|conversations)\b
            \bmedical (?:records?|history|information|conditions?)\b
            \b(?:chronic illness|diagnosis|prognosis|health records?)\b
            \bwithout (?:their|his|her) (?:consent|knowledge|permission)\b
            \bread (?:[\w'’]+ ){0,2}(?:private )?(?:messages|texts|emails|diary)\b
            \b(?:scrap(?:e|ing)) (?:[\w'’]+ ){0,3}(?:profiles|email addresses|personal)\b
            \bidentify (?:a |this |the )?(?:stranger|person|woman|man) (?:from|in) (?:a |this |the )?(?:photo|picture|video)\b
            \breal name\b
            \bgps (?:coordinates|location|screenshot)\b
            \bwhere (?:[\w'’]+ ){1,3}is (?:currently )?located\b
            \bcontact (?:information|details|info) (?:for|of)\b
            \bowner of the (?:property|house|car) at\b
            \b(?:bankruptcy|divorce|custody|court) (?:details|records|files)\b
            \bhome loan\b
            \b(?:gpa|grades|transcript) of\b
            \b(?-i:[A-Z][a-z]+ [A-Z][a-z]+)(?:'s|s'|’s) (?:gpa|condition|counseling|therapy|diagnosis|salary|income|passport|bank|debts?)\b
            \bis in counseling\b
            \b(?:citizenship|immigration) status of\b
            \blocate information about (?:another|a) person\b
            \bcpn number\b
            \bhas (?:ever )?had (?:an? )?(?:std|sti|hiv|abortion)\b
            \bthe (?:girl|boy|woman|man|family) (?:across the street|next door)\b
            \bhas (?:ever )?(?:had|used) (?:unprotected sex|an iud|an abortion|drugs)\b
            """
            )
        ),
    ),
    (
        "S5",
        _searcher(
            _rx(
                r"""
            \bdefam
            \blibel
            \bslander
            \bsmear
            \b(?:false|fake|untrue|fabricated|made-up|bogus) (?:rumou?rs?|stor(?:y|ies)|claims?|allegations?|evidence)\b
            \b(?:false|fake|untrue|fabricated|made-up|bogus) (?:accusations?|news|reviews?|quotes?|articles?|studies|study|testimon\w*|reports?)\b
            \b(?:spread|start)(?:ing)? (?:a |the )?rumou?rs?\b
            \bruin (?:his|her|their|someone's|a) (?:[\w'’]+ )?reputation\b
            \b(?:sabotag|damag|destroy|tarnish)\w* (?:[\w'’]+ ){0,3}reputation\b
            \b(?:mis|dis)information\b
            \bfalse information\b
            \bpropaganda\b
            \bconspiracy theor
            \bcrisis actors?\b
            \bhoax
            \bmislead
            \bfalsely (?:claim|accus|stat)
            \baccuse (?:my |your |his |her |a |the )?\w+ of\b
            \bwithout (?:any )?(?:scientific )?evidence\b
            \b(?:was|were|is) (?:a |an )?(?:hoax|myth|staged|fake|exaggerated|inflated|fabricated)\b
            \bdeny(?:ing)? (?:that )?(?:the )?(?:[\w'’]+ )?genocide\b
            \bgenocide (?:was|never)\b
            \bpersuasive article (?:arguing|claiming|about how)\b
            \breviews? (?:on|for) a product (?:that )?you have not\b
            \b(?:bad|terrible|worst|corrupt|incompetent) (?:ceo|company|politician|senator|mayor|doctor|teacher|boss)\b
            """
            )
        ),
    ),
    (
        "S8",
        _searcher(
            _rx(
                r"""
            \bpira(?:te|ted|cy|ting)\b
            \bcopyright
            \bdrm\b
            \bdigital rights management\b
            \btorrent
            \bkeygen
            \bcrack(?:ed)? (?:software|version|copy|license|the license|copy protection)
            \bwatermark
            \billegally (?:download|stream|copy|share)
            \bplagiari
            \b(?:full|entire|complete) (?:lyrics|text|chapter|book|screenplay|script|album)\b
            \bintellectual property\b
            \bpaywall
            \bfree (?:copy|download|pdf|stream) of\b
            \bstream (?:[\w'’]+ ){0,2}(?:movies|tv|shows|games|sports|films?) for free\b
            \b(?:movies|tv|shows|films?) for free\b
            \bcounterfeit (?:designer|brand|luxury|goods|merch|handbags?|clothes)\b
            \b(?:bootleg|knock-?off)s?\b
            """
            )
        ),
    ),
    (
        "S6",
        _searcher(
            _rx(
                r"""
            \bdosages?\b
            \bdose of\b
            \bhow (?:many|much) (?:[\w'’]+ )?(?:pills?|mg|milligrams?|tablets?)\b
            \bdiagnos
            \bprescri(?:be|ption)
            \b(?:medical|legal|financial|investment) advice\b
            \bwhat medication
            \bself-?medicat
            \bwithout (?:a|seeing a) (?:doctor|lawyer|vet)\b
            \binstead of (?:a |seeing a |going to (?:a |the )?)?(?:doctor|hospital|lawyer|chemo\w*|medication|vet)\b
            \bmy lawyer\b
            \bwhy (?:if |to |when ).{0,160}\byou should\b
            \bwhy it(?:'s| is) (?:safe|fine|okay|ok|healthy|good) to\b
            \b(?:is|are) (?:good|healthy|safe) for you\b
            \bdo not cause cancer\b
            \bcure (?:cancer|diabetes|aids|hiv|autism|covid)\b
            \b(?:cure|treat) (?:[\w'’]+ ){0,3}(?:at home|yourself|myself)\b
            \b(?:mix|mixing) (?:bleach|ammonia)\b
            \bbleach and (?:ammonia|vinegar|rubbing alcohol)\b
            \bstop taking (?:my |your )?(?:medication|insulin|pills|antidepressants)\b
            \b(?:guarantee|definitely) (?:[\w'’]+ ){0,3}(?:double|triple|return)\b
            \b(?:reckless|drunk) driving\b
            \bdangerous stunts?\b
            \babort\w* (?:a |the |my |your )?baby at home\b
            \babortion at home\b
            \bpull\w* out (?:your|my) own tooth\b
            \blose weight (?:rapidly|fast|quickly) by\b
            \b(?:should|can) (?:a |an )?(?:[\w'’]+ ){0,3}(?:baby|infant|two[- ]month[- ]old|newborn) (?:have|eat|drink)\b
            \bhow much (?:[\w'’]+ ){0,3}can be eaten\b
            \bwithout (?:proper )?safety (?:precautions|equipment|gear)\b
            """
            )
        ),
    ),
    (
        "S1",
        _searcher(
            _rx(
                rf"""
            \bkill
            \bmurder
            \bassault
            \bassassin
            \bhitm[ae]n\b
            \bshoot(?:ing|ings|er|ers)?\b
            \bbruis
            \bpoisons?\b
            \btoxins?\b
            \b(?:throw|splash)\w* acid\b
            \bacid (?:[\w'’]+ ){{0,3}}(?:throw|at (?:someone|people|protesters|protestors|her|him))
            \btrap for (?:someone|somebody|people|a person)\b
            \b(?:drown|shake|suffocate|smother|starve)\w* (?:a |the |my |your |his |her )?(?:baby|child|kid|infant|toddler|person|someone)\b
            \bmass shooting
            \bstab
            \btortur
            \bwaterboard
            \bchok(?:e|ing) (?:someone|somebody|a person|him|her|them)\b
            \bhomicide\b
            \bslaughter
            \b(?:chop|cut)\w* off (?:[\w'’]+ ){{0,2}}(?:fingers?|hands?|ears?|balls|head|tongue|limbs?)
            \b(?:disassembl|dismember)\w* (?:a |the )?body\b
            \b(?:cause|make) (?:[\w'’]+ ){{0,3}}(?:to )?(?:crash|wreck)\b
            \b(?:wreck|crash) (?:their|his|her|a|the) (?:vehicle|car|bike|motorcycle)\b
            \brun (?:[\w'’]+ ){{0,3}}off the road\b
            \bgunfights?\b
            \bextract\w* (?:[\w'’]+ ){{0,2}}tongue
            \bhang (?:someone|somebody|a person|him|her)\b
            \b(?:burn|sting)\w* (?:[\w'’]+ ){{0,4}}(?:eyes|skin)\b
            \bransom\b
            \bbooby ?traps?\b
            \bstrik\w* (?:someone|somebody|a person|him|her|people)\b
            \b(?:create|cause|spread)\w* (?:mass )?(?:panic|fear|terror)\b
            \bgive (?:[\w'’]+ ){{0,2}}diarrh
            \bmake (?:a |his |her |their |the )?death look like\b
            \bhead under ?water\b
            \bdispos\w* of (?:a |the )?(?:[\w'’]+ )?(?:body|bodies|corpse)\b
            \bhunting accident\b
            \b(?:held|hold|holding)\w* underwater\b
            \bgo blind\b
            \bthallium\b
            \btarget practice\b
            \bheadlock\b
            \b(?:clip|crop)\w* (?:a |the |my |your )?(?:[\w'’]+ ){{0,2}}ears\b
            \btip (?:a |the )?cows?\b
            \bcows? die\b
            \bmake (?:a |the |my |your )?(?:[\w'’]+ ){{0,2}}(?:sick|ill)\b
            \bforce (?:someone|somebody|him|her|them) out of (?:your|the|a) (?:moving )?car\b
            \bbody parts to (?:hit|punch|kick|stab)\b
            \b(?:dog|dogs|pitbulls?) (?:more )?aggressive\b
            \bpoison\w* (?:a |the )?(?:large )?(?:group|crowd|city|town)\b
            \bantifreeze\b
            \bcyanide\b
            \bremove (?:[\w'’]+ ){{0,3}}from the earth\b
            \b(?:cause|spread)\w* panic\b
            \babandon\w* (?:[\w'’]+ ){{0,2}}(?:pets?|dogs?|cats?|baby|child|kids?)\b
            \bkidnap
            \babduct
            \bterror
            \bjihad
            \btaliban\b
            \bisis\b
            \bmassacre
            \bstrangl
            \bbehead
            \bgenocide\b
            \bethnic cleansing\b
            \blynch
            \bradicali[sz]
            \bextremis
            \bhostage
            \bthreat(?:en\w*|s)?\b
            \bintimidat
            \bhit-and-run\b
            \bviolen(?:ce|t)\b
            \barmed robbery\b
            \b(?:cause|causing) (?:physical )?(?:harm|pain|injur)
            \binflict\w* pain\b
            \bphysical harm\b
            \bbeat (?:up|someone|him|her|them|a|my|his)\b
            \b(?:hurt|harm|injure|attack|maim|poison|electrocute|drown|burn|bludgeon)(?:ing|s)? (?:someone|somebody|people|others|a person|him|her|them|my|his|your|our|their)\b
            \bpoison\w* (?:[\w'’]+ ){{0,3}}(?:drink|food|soup|coffee|tea|meal)\b
            \b(?:poisons?|toxins?) (?:that|to|which) (?:[\w'’]+ ){{0,4}}(?:kill|murder|undetect|difficult to detect|hard to detect|untraceable)
            \b(?:most|least) (?:toxic|lethal|deadly) poisons?\b
            \b(?:terminat|execut|eliminat|liquidat|eradicat|exterminat)\w* {_DETERMINER}{_PEOPLE}\b
            \b(?:annihilat|decimat|slay|butcher|gut|choke|throttle)\w* {_DETERMINER}{_PEOPLE}\b
            \b(?:strangle|punch|smash|crush|hunt|slap|kick|trip|run over|knock out|tie up)\w* (?:down )?{_DETERMINER}{_PEOPLE}\b
            \b(?:hit|beat|shoot|overpower|tackle|push|throw)\w* {_DETERMINER}{_PEOPLE}\b
            \b(?:hit|beat|shoot|overpower|tackle|push|slap|punch)\w* (?:an? )?(?:woman|man|person|toddler|kid|child)\b
            \bknock\w* (?:someone|somebody|a person|him|her|them|people)(?:'s)? (?:out|unconscious|teeth)\b
            \btying (?:someone|somebody|a person|him|her) up\b
            \bset (?:someone|somebody|a person|him|her|them|people) on fire\b
            \bcatch\w* (?:someone|somebody|a person|him|her) on fire\b
            \b(?:break|breaking|broke|snap|snapping)\w* (?:a |an |the |someone's |somebody's |his |her |their |my |\w+'s )?(?:[\w'’]+ ){{0,2}}(?:neck|legs?|arms?|hands?|fingers?|bones?|jaw|nose|penis|skull|ribs?)\b
            \b(?:bar|fist|street) fights?\b
            \bstart (?:a |the )?fight\b
            \b(?:skull|sternum|spine|throat|kidney|face in|head off)\b
            \bdead (?:body|baby)\b
            \b(?:hide|dispose of|get rid of|bury|dissolve)\w* (?:a |the |his |her )?(?:dead )?(?:body|bodies|corpse)\b
            \b(?:someone|somebody)'s death\b
            \beuthani[sz]e (?:my|his|her|their|a|an|the)\b
            \banimal (?:abuse|cruelty)\b
            \b(?:dog|cock) ?fight
            \b(?:harm|hurt|kick|abuse|torture|poison|break|destroy|kill|maim|drown|burn|shoot|stab|strangle|skin|dismember|eliminate|cut|scare)\w* .{{0,25}}\b{_ANIMALS}\b
            \b(?:inhumane|cruel|cruelest|painful) (?:way|ways|method|methods)\b
            \b(?:dismember|flay|disembowel|mutilat|decapitat)\w*
            \b(?:cannibal|eat (?:a )?human)\w*
            \bhuman (?:body|flesh|remains)\b
            \b(?:derail|wreck|crash)\w* (?:a |the )?(?:train|plane|bus|car|subway|tram)\b
            \b(?:cut|disconnect|destroy|tamper with)\w* (?:[\w'’]+ ){{0,3}}brake
            \bweapons?\b
            \b(?:shiv|knife|knives|machete|ak-?47|rifle|pistol|handgun)\b
            \b(?:mace|acid) (?:attack|on someone|in (?:his|her|their) face)\b
            \b(?:take|taking) the law into (?:their|your|our) own hands\b
            \bvigilante
            """
            )
        ),
    ),
    (
        "S2",
        _searcher(
            _rx(
                r"""
            \bhack
            \bhijack
            \bsteal
            \bstole
            \btheft\b
            \bthie(?:f|ves|ving)\b
            \brob(?:s|bed|bing|bery|beries)?\b
            \bmug(?:ging|ged)?\b
            \bpurse snatch
            \bshoplift
            \bburglar
            \bbreak(?:ing|s)? into\b
            \bbreak(?:ing)? (?:in|into|open) (?:a |the )?(?:house|home|car|store|safe|atm|vending)
            \b(?:crack|break|open)\w* (?:a |the )?safes?\b
            \bfraud
            \bdefraud
            \bembezzl
            \bscam
            \bcon (?:artist|someone|people)\b
            \bphish
            \bspam
            \bsocial engineering\b
            \b(?:malware|ransomware|spyware|trojan|ddos|denial of service|botnet|rootkit|worm)\b
            \bkeylogg
            \bvirus(?:es)?\b
            \bcyber ?attack
            \bexploit
            \bsql injection\b
            \bunauthori[sz]ed access\b
            \bbypass (?:the )?(?:security|authentication|login|paywall|alarm)
            \bcrack (?:a |the )?passwords?\b
            \bbrick (?:someone's|a|his|her|my) (?:phone|computer|laptop|pc)\b
            \b(?:crash|destroy|wipe|corrupt)\w* (?:[\w'’]+ ){0,3}(?:computer|pc|laptop|hard drive|system|phone|printer|server)\b
            \bcredit card numbers?\b
            \bskimm
            \blaunder
            \bcounterfeit
            \b(?:duplicate|copy|print)\w* (?:[\w'’]+ ){0,2}(?:money|banknotes?|bills|currency)\b
            \bforg(?:e|ed|ery|ing)\b
            \bpractice (?:someone|somebody)(?:'s|s') signature\b
            \bpick ?pocket
            \bdark web\b
            \bbypass\w* (?:[\w'’]+ ){0,3}(?:icloud|activation lock|lock screen|parental controls)
            \b(?:neighbou?r's|someone's) (?:internet|wifi|wi-fi) for free\b
            \bcaptur\w* (?:[\w'’]+ ){0,2}passwords\b
            \bstreet gangs?\b
            \bnefarious\b
            \bknuckle ?dusters?\b
            \bkey (?:someone's |somebody's |a |his |her |their |my |the )?(?:[\w'’]+ )?car\b
            \bclog (?:someone's |somebody's |a |the |his |her )?(?:sink|toilet|drain)\b
            \bbreak (?:a |the )?(?:glass )?windows?\b
            \bbypass\w* (?:security )?cameras\b
            \bheists?\b
            \bhigh ?jack
            \bbreak (?:[\w'’]+ )?out of (?:prison|jail)\b
            \bnitrous oxide\b
            \becstacy\b
            \b(?:burn|torch)\w* (?:[\w'’]+ ){0,3}down\b
            \bproperty damage\b
            \blitter(?:ing)?\b
            \bhide (?:[\w'’]+ ){0,2}down (?:your|my) pants\b
            \bsteal (?:food|drinks?|meals?|wi-?fi|internet)\b
            \b(?:destroy|ruin|wreck|trash)\w* (?:a |the |your |my |someone's |somebody's |his |her |[\w'’]+'s )?(?:[\w'’]+ )?(?:vehicle|car|truck|bus|helicopter|plane|microwave|house|building|property|shoes?|dishes|food|christmas|wedding|party|phone)\b
            \b(?:vehicle|car) (?:not run|won't work|stop working)\b
            \bcut (?:the )?wires\b
            \belectric(?:ity)? go out\b
            \bwithout (?:her|his|their|your|my) (?:noticing|knowledge|permission|suspecting)\b
            \bwithout permission\b
            \b(?:bump stocks?|hollow[- ]point|silencers?|suppressors?)\b
            \bgrow\w* (?:[\w'’]+ ){0,2}pot\b
            \bcook(?:ing)? the books\b
            \bpay (?:off|someone off) (?:a |the )?(?:college|judge|official|cop|referee)\b
            \brig(?:ging)? (?:the )?(?:numbers|game|match|bingo|lottery|contest|giveaway)\b
            \bin (?:your|my|his|her) (?:dog's|cat's|pet's|dead \w+'s|baby's) name\b
            \bsell (?:\w+ )?(?:used )?positive pregnancy tests\b
            \bpretend\w* to be (?:a |an )?(?:psychic|doctor|police|cop|official|lawyer)\b
            \b(?:damage|clog|ruin)\w* (?:the )?(?:plumbing|pipes|engine|gas tank)\b
            \bin (?:the|your|his|her|a) gas tank\b
            \bheroine\b
            \bpollut\w* (?:the )?(?:planet|river|lake|ocean|water)
            \bsue (?:[\w'’]+ ){0,3}pretend
            \bfalsif
            \bfake (?:ids?|passports?|documents?|identit\w*|license plates?|birth certificates?|doctor's (?:note|excuse)|pay ?stubs?|prescriptions?|diplomas?|degrees?)
            \bsmuggl
            \btax (?:evasion|fraud)\b
            \b(?:avoid|evade|evading|avoiding) (?:[\w'’]+ ){0,2}(?:paying )?(?:taxes|the irs)\b
            \bevad(?:e|ing) (?:the police|law enforcement|the law|arrest|detection|airport security|customs)\b
            \b(?:hide|hiding) from (?:the )?(?:law|police|cops)\b
            \bwithout (?:getting )?(?:caught|detected|being detected|detection|being caught|being discovered|being traced|a trace)\b
            \bescape from (?:a |the )?(?:prison|jail|correctional|custody)
            \bbrib
            \bblackmail
            \bextort
            \binsider trading\b
            \b(?:ponzi|pyramid) scheme
            \bmanipulat\w* (?:the )?(?:stock|financial|market|prices|ratings|reviews)
            \bsabotag
            \bcheat
            \bcount(?:ing)? cards\b
            \bvandali
            \bgraffiti\b
            \barson\w*
            \bruin (?:someone's|somebody's|a neighbou?r's|my neighbou?r's|his|her|their) (?!life|reputation)\w+
            \b(?:set|light)\w* (?:[\w'’]+ ){0,3}(?:on fire|ablaze)\b
            \b(?:burn|burning) down\b
            \btreason\b
            \bpick (?:a|the) lock\b
            \block ?pick
            \bhot ?-?wir
            \b(?:syphon|siphon)\b
            \bscalp(?:ing|er|ers)?\b
            \bsneak (?:into|in|backstage|past|onto)\b
            \b(?:without|avoid) paying\b
            \bfor free\b.{0,20}\b(?:sneak|steal|without)
            \bdine and dash\b
            \btrespass
            \bblack market\b
            \bcartel\b
            \bdealer\b
            \b(?:firearms?|guns?|ammunition|ammo)\b
            \bdrugs?\b
            \b(?:meth|methamphetamine|cocaine|heroin|fentanyl|lsd|mdma|ketamine|opium|opioids?|oxycodone|xanax|psychedelic|shrooms|magic mushrooms)\b
            \b(?:coke|crack|weed|marihuana|marijuana|cannabis|ecstasy|poppy|poppies)\b
            \bget(?:ting)? (?:high|stoned|drunk)\b
            \bhuff
            \billegal
            \bunlawful
            \bcrimes?\b
            \bcriminal
            \bkeep receiving (?:[\w'’]+ ){0,3}(?:check|benefits|pension)\b
            \bcircumvent
            \bdisable (?:[\w'’]+ ){0,3}(?:tracker|alarm|security|camera|gps)
            \b(?:deactivate|remove) (?:[\w'’]+ ){0,2}(?:security|spider|anti-theft) tags?\b
            \binfiltrat
            \bdisrupt\w* (?:[\w'’]+ ){0,3}(?:transportation|power grid|traffic|railway|airport)
            \bcause chaos\b
            """
            )
        ),
    ),
)

# Tier 2: weaker cue words per code; scored, the code with the most distinct cues wins.
_CUES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (code, _rx(words))
    for code, words in (
        (
            "S1",
            r"""
            \b(?:hurt|harm|injur\w*|wound\w*|bleed\w*|blood\w*|brutal\w*|gore|graphic detail)\b
            \b(?:revenge|retaliat\w*|ambush|attack\w*|fight\w*|punch\w*|slap\w*|kick\w*|choke\w*)\b
            \b(?:destroy|wreck|ruin) (?:a |an |the )?(?:[\w'’]+ )?(?:animal|creature)\b
            \b(?:corpse|grave|graves|cemetery|cemetary|dead body)\b
            \b(?:run(?:ning)? (?:somebody|someone|people) over)\b
            \b(?:throw|push)\w* (?:[\w'’]+ ){0,3}(?:off|down|out of)\b
            \b(?:pain|painful|suffer\w*|agony)\b
            \bgun\b
            """,
        ),
        (
            "S2",
            r"""
            \b(?:money|cash|banknotes?|bills?|funds|wallet|purse)\b
            \b(?:fake|forged|phony|counterfeit)\b
            \b(?:sneak\w*|secretly|undetected|untraceable|anonymous\w*|covertly)\b
            \b(?:police|cops?|law enforcement|authorities|the law|security guards?)\b
            \b(?:lie|lying|cheat\w*|trick\w*|deceiv\w*|manipulat\w*|exploit\w*)\b
            \b(?:break|destroy|damage|ruin|wreck)\w* (?:[\w'’]+ ){0,3}(?:car|engine|house|property|machine|printer|refrigerator|table|keyboard|phone|computer)\b
            \b(?:prank\w*)\b
            """,
        ),
        (
            "S10",
            r"""
            \b(?:embarrass\w*|humiliat\w*|mock\w*|ridicul\w*|taunt\w*|tease|teasing|loser|nasty|mean)\b
            \b(?:people from|folks from)\b
            \b(?:jokes?|nicknames?|names to call|stereotypes?|perceived)\b
            \b(?:stupid|dumb|lazy|ugly|dirty|smelly|disgusting|annoying)\b
            \b(?:race|races|racial|ethnic\w*|religio\w*|nationalit\w*|immigrants?|gays?|muslims?|jews?)\b
            """,
        ),
        (
            "S7",
            r"""
            \b(?:phone|address|location|whereabouts|identity|password|account|records?)\b
            \b(?:private|personal|confidential|secret)\b
            \b(?:follow|watch|monitor|record)\w* (?:[\w'’]+ ){0,2}(?:someone|my|his|her|their|people)\b
            """,
        ),
        (
            "S12",
            r"""
            \b(?:sexy|seduc\w*|naked|nude|kink\w*|fetish\w*|lingerie|intimate|bedroom|aroused?)\b
            """,
        ),
        (
            "S5",
            r"""
            \b(?:false\w*|fake news|rumou?rs?|lies|accus\w*|discredit\w*|reputation|conspirac\w*)\b
            """,
        ),
        (
            "S6",
            r"""
            \b(?:medicine|medication|pills?|doctor|treatment|symptoms?|vaccine\w*|cure|dangerous|unsafe|safety)\b
            """,
        ),
        (
            "S11",
            r"""
            \b(?:depress\w*|hopeless|worthless|end it all|disappear)\b
            """,
        ),
    )
)


def _specific(text: str, allowed: frozenset[str] | None = None) -> tuple[str, float, str] | None:
    """The first specific rule (in ``allowed`` codes, if given) that matches ``text``."""

    def ok(code: str) -> bool:
        return allowed is None or code in allowed

    if ok("S4") and (_CSAM.search(text) or (_MINOR.search(text) and _SEXUAL.search(text))):
        return "S4", SPECIFIC_RULE_CONFIDENCE, "rule S4: minor + sexual term"
    for code, matcher in _RULES:
        if ok(code):
            found = matcher(text)
            if found:
                return code, SPECIFIC_RULE_CONFIDENCE, f"rule {code}: '{found}'"
    return None


@lru_cache(maxsize=262_144)  # loaders, the hygiene stage and reports ask about the same seeds
def match_rule(text: str) -> tuple[str, float, str] | None:
    """(code, confidence, which rule) of the first rule that matches ``text``, or None."""
    specific = _specific(text)
    if specific:
        return specific
    scores = {}
    for code, pattern in _CUES:
        found = {m.group().lower() for m in pattern.finditer(text)}
        if found:
            scores[code] = found
    if scores:
        best = max(scores, key=lambda code: len(scores[code]))  # first listed wins a tie
        return best, CUE_CONFIDENCE, f"cues {best}: {', '.join(sorted(scores[best]))}"
    return None


def match_category(text: str) -> str | None:
    """The hazard code of the first rule that matches ``text``, or None when none does."""
    matched = match_rule(text)
    return matched[0] if matched else None


def categorize(prompt: str, default: str = "S2") -> str:
    """Map a harmful request to a hazard code S1–S14, falling back to ``default``."""
    return match_category(prompt) or default


def match_within(text: str, allowed: frozenset[str]) -> tuple[str, float, str] | None:
    """The first specific rule whose code is in ``allowed`` (a preset's broad label)."""
    return _specific(text, allowed)


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
    matched = match_within(normalized, frozenset(HAZARD_CATEGORIES))
    return matched[0] if matched else None
