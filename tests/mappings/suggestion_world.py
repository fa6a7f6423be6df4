"""A made-up MSP whose right answers are known: organizations (Microsoft tenants) and
Autotask companies, for the suggestion accuracy test and the benchmark.

Everything comes from one ``random.Random(seed)``, so a seed always gives the same world.
What it holds, in the shares of the issue's 500 organizations and 600 companies:

- **vanity domains** (22 %): the tenant has its own domain and the company's web address
  is on it, written any way people write one ("HTTPS://www.X.co.uk:443/contact", " x.de ");
  the company's name is often a trading name unlike the tenant's. Most of them have
  decoys: a company with the tenant's very name on another domain (a sister company in
  another country), one on a sub-domain of the tenant's domain, and inactive, prospect or
  deleted copies with the same domain, and one on a look-alike domain (``myx.co.uk``,
  ``x.co.uk.cdn-host.net``, ``x.co``).
- **sub-domains** (6 %): the tenant's domain and the web address share their registrable
  domain only (``mail.x.com`` against ``https://portal.x.com/login``).
- **second tenants** (2 %): a test or second-country tenant of a company another
  organization maps to, on the same domain.
- **names that differ only by legal form, punctuation, case, accents and "&"/"and"**
  (34 %): no usable domain. Decoys: longer names that contain the name, the same name
  with another legal form (another legal entity: only the form tells them apart), and
  inactive copies.
- **small differences** (8 %): a typo, singular/plural, British/American spelling,
  "The", "Group", "International"/"Intl".
- **no company at all** (28 %): tenants nobody mapped; no company name is close to
  theirs, some have vanity domains no company uses.

The rest of the companies are other customers, prospects, vendors and leads.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from rapidfuzz import fuzz

SURNAMES = [
    "Hughes", "Whitfield", "Okafor", "Lindqvist", "Moreau", "Kowalski", "Rossi", "Schneider",
    "Nakamura", "Patel", "O'Brien", "García", "Müller", "Dubois", "Novak", "Jansen", "Fischer",
    "Kaur", "Murphy", "Bianchi", "Andersson", "Silva", "Nguyen", "Cohen", "Fraser", "Byrne",
    "Laurent", "Horváth", "Popescu", "Svensson", "Petrov", "Kovács", "Ashworth", "Blackwood",
    "Carrington", "Delgado", "Eriksen", "Fontaine", "Gallagher", "Hartmann", "Iyer", "Jensen",
    "Keller", "Lambert", "MacLeod", "Nielsen", "Oyelaran", "Pemberton", "Quinlan", "Ramírez",
    "Sato", "Thornton", "Ulrich", "Vasquez", "Wainwright", "Yamamoto", "Zielinski", "Strauß",
    "Abernathy", "Beaumont", "Castellano", "Dunmore", "Ellingham", "Fairbanks", "Grünewald",
    "Holloway", "Ingram", "Jovanović", "Kingsley", "Lowther", "Mancini", "Nordström",
    "Ostrowski", "Prescott", "Rutherford", "Sinclair", "Talbot", "Underwood", "Vermeulen",
    "Whitaker",
]  # fmt: skip
PLACES = [
    "Bristol", "Harbour", "Riverside", "Northgate", "Alpine", "Baltic", "Cascade", "Highland",
    "Lakeside", "Meridian", "Pacific", "Summit", "Westbrook", "Oakridge", "Kingsway", "Thames",
    "Rhine", "Danube", "Fjord", "Atlas", "Orion", "Pennine", "Cotswold", "Solent", "Mersey",
    "Tyne", "Avon", "Severn", "Cambrian", "Brabant", "Bavaria", "Provence", "Tuscany",
    "Silesia", "Jutland", "Lapland", "Dalmatia", "Moravia", "Flanders", "Normandy", "Chiltern",
    "Mendip", "Quantock", "Wessex", "Mercia", "Castlegate", "Eastfield", "Southbank",
    "Millbrook", "Stonebridge",
]  # fmt: skip
HEADS = ["Vel", "Quan", "Zen", "Lum", "Cor", "Nex", "Ar", "Sol", "Tri", "Ver", "Kal", "Bri",
         "Dyn", "Equi", "Flo", "Gal", "Hel", "Inno", "Jun", "Kor", "Lyr", "Mar", "Nov", "Opti",
         "Pyr", "Rav", "Syn", "Tel", "Ul", "Vox"]  # fmt: skip
TAILS = ["ora", "tix", "ova", "ina", "vex", "ium", "gento", "aris", "lytic", "ano", "ency",
         "ix", "aro", "eon", "ify", "ara", "elle", "etta", "on", "os", "ura", "yx", "ado",
         "ico", "ena", "umi", "ator", "ique", "antis", "ivo"]  # fmt: skip
TRADES = [
    "Dental Care", "Legal", "Logistics", "Accountants", "Engineering", "Architects",
    "Veterinary Clinic", "Foods", "Motors", "Realty", "Consulting", "Design Studio",
    "Pharmacy", "Builders", "Plumbing & Heating", "Insurance Brokers", "Physiotherapy",
    "Opticians", "Marketing", "IT Solutions", "Software", "Printing", "Catering",
    "Property Management", "Financial Planning", "Recruitment", "Surveyors", "Electrical",
    "Landscaping", "Travel", "Bakery", "Brewery", "Wealth Management", "Construction",
    "Freight", "Medical Centre", "Solicitors", "Robotics", "Analytics", "Media", "Textiles",
    "Packaging", "Aviation", "Energy", "Water Treatment", "Security", "Interiors",
    "Joinery", "Hotels", "Dairy",
]  # fmt: skip
EXTRAS = ["Services", "Holdings", "Group", "Partners", "Systems", "Trust", "Foundation",
          "Worldwide", "Direct", "Labs"]  # fmt: skip
CITIES = ["London", "Leeds", "Munich", "Hamburg", "Utrecht", "Lyon", "Milan", "Krakow", "Malmo",
          "Aarhus", "Bergen", "Tampere", "Debrecen", "Brno", "Sydney", "Boston"]  # fmt: skip

# Per country: the legal forms (each with the ways it is written) and the domain ending.
COUNTRIES = {
    "GB": ([["Ltd", "Ltd.", "Limited", "LIMITED", "ltd"], ["PLC", "plc", "P.L.C."],
            ["LLP", "L.L.P."]], "co.uk"),
    "US": ([["Inc", "Inc.", ", Inc.", "Incorporated", "INC"], ["LLC", "L.L.C.", ", LLC"],
            ["Corp", "Corp.", "Corporation"]], "com"),
    "DE": ([["GmbH", "GMBH", "Gmbh"], ["AG"], ["GmbH & Co. KG", "GmbH & Co KG",
            "GMBH & CO. KG"]], "de"),
    "NL": ([["B.V.", "BV", "B. V.", "b.v."], ["N.V.", "NV"]], "nl"),
    "FR": ([["SAS", "S.A.S."], ["SARL", "S.à r.l.", "S.A.R.L."], ["S.A.", "SA"]], "fr"),
    "IT": ([["S.r.l.", "SRL", "s.r.l."], ["S.p.A.", "SpA", "S.P.A."]], "it"),
    "PL": ([["sp. z o.o.", "Sp. z o.o.", "SP. Z O.O.", "sp.z o.o."], ["S.A.", "SA"]], "pl"),
    "SE": ([["AB"]], "se"),
    "DK": ([["A/S"], ["ApS", "APS"]], "dk"),
    "NO": ([["AS"]], "no"),
    "FI": ([["Oy", "OY"], ["Oyj"]], "fi"),
    "HU": ([["Kft.", "KFT", "Kft"], ["Zrt.", "ZRT"]], "hu"),
    "AU": ([["Pty Ltd", "Pty. Ltd.", "PTY LIMITED"]], "com.au"),
    "CZ": ([["s.r.o.", "S.R.O.", "sro"], ["a.s."]], "cz"),
    "ES": ([["S.L.", "SL"], ["S.A.", "SA"]], "es"),
}  # fmt: skip
COUNTRY_CODES = list(COUNTRIES)
SPELLINGS = [("Centre", "Center"), ("Colour", "Color"), ("Opticians", "Optician"),
             ("Accountants", "Accountant"), ("Surveyors", "Surveyor"), ("Builders", "Builder"),
             ("Solicitors", "Solicitor"), ("Architects", "Architect")]  # fmt: skip
UNACCENTED = str.maketrans(
    {**dict(zip("áéíóúüöäåćčšžñ", "aeiouuoaaccszn", strict=True)), "ß": "ss"}
)

# Shares of the world (500 organizations, 600 companies).
VANITY, SUBDOMAIN, SECOND_TENANT, SURFACE, SMALL = 110, 30, 10, 170, 40


@dataclass
class CompanySpec:
    name: str
    web_address: str = ""
    company_type: int = 1
    is_active: bool = True
    gone: bool = False
    autotask_id: int = 0


@dataclass
class OrganizationSpec:
    customer_id: str
    name: str
    domains: list[str]
    kind: str
    company: CompanySpec | None = None  # the right answer, if there is one
    domain: str = ""  # the domain that shows it, if one does


@dataclass
class World:
    organizations: list[OrganizationSpec] = field(default_factory=list)
    companies: list[CompanySpec] = field(default_factory=list)


class _Maker:
    def __init__(self, seed: int):
        self.rng = random.Random(seed)  # noqa: S311 - repeatable test data, not secrets
        self.used: set[str] = set()
        self.used_domains: set[str] = set()
        self.world = World()

    # -- names --------------------------------------------------------------------------

    def base(self) -> list[str]:
        """A business name nobody else has yet, as words ("&" is a word)."""
        rng = self.rng
        while True:
            pattern = rng.randrange(7)
            brand = rng.choice(HEADS) + rng.choice(TAILS)
            if pattern == 0:
                first, second = rng.sample(SURNAMES, 2)
                words = [first, "&", second, *rng.choice(TRADES).split()]
            elif pattern == 1:
                words = [rng.choice(PLACES), *rng.choice(TRADES).split()]
            elif pattern in (2, 3):
                words = [brand, *rng.choice(TRADES).split()]
            elif pattern == 4:
                words = [brand, rng.choice(EXTRAS)]
            elif pattern == 5:
                words = [rng.choice(SURNAMES), *rng.choice(TRADES).split()]
            else:
                words = [rng.choice(PLACES), rng.choice(SURNAMES), *rng.choice(TRADES).split()]
            if self.claim(words):
                return words

    def claim(self, words: list[str]) -> bool:
        """Take a name for one business only; False when another has it already."""
        key = _key(words)
        if key in self.used:
            return False
        self.used.add(key)
        return True

    def form(self, country: str) -> list[str]:
        return self.rng.choice(COUNTRIES[country][0])

    def styled(self, words: list[str], form: list[str] | None, *, keep_form=False) -> str:
        """The name as someone typed it: its form written one of its ways (or left out),
        "&" or "and", any case, stray punctuation, accents or none."""
        rng = self.rng
        words = [("and" if rng.random() < 0.5 else "&") if w in ("&", "and") else w
                 for w in words]  # fmt: skip
        if rng.random() < 0.3:
            words = [w.translate(UNACCENTED) for w in words]
        if rng.random() < 0.15 and len(words) > 2:
            words = [words[0] + ",", *words[1:]] if words[1] != "&" else words
        name = " ".join(words)
        if form is not None and (keep_form or rng.random() < 0.85):
            written = rng.choice(form)
            name = f"{name}{written}" if written.startswith(",") else f"{name} {written}"
        case = rng.random()
        if case < 0.2:
            name = name.upper()
        elif case < 0.3:
            name = name.lower()
        if rng.random() < 0.1:
            name += "."
        return name

    def trading_name(self, words: list[str]) -> str | None:
        """What an MSP's staff called the company in Autotask, unlike the tenant's name
        (None if that name is another business's)."""
        rng = self.rng
        choice = rng.randrange(4)
        if choice == 0 and "&" in words:
            at = words.index("&")
            name = [f"{words[at - 1][0]}&{words[at + 1][0]}", *words[at + 2 :]]
        elif choice == 1:
            name = [words[0], f"({rng.choice(CITIES)}", "office)"]
        elif choice == 2:
            name = [*words[:2], "-", rng.choice(CITIES)]
        else:
            name = [words[0], rng.choice(EXTRAS)]
        return " ".join(name) if self.claim(name) else None

    def small_difference(self, words: list[str]) -> list[str]:
        """The same business with one small difference in how the name is written."""
        rng = self.rng
        for british, american in SPELLINGS:
            if british in words and rng.random() < 0.7:
                return [american if w == british else w for w in words]
        choice = rng.randrange(4)
        if choice == 0:
            return ["The", *words]
        if choice == 1:
            return [*words, "Group"] if words[-1] != "Group" else words[:-1]
        longest = max(range(len(words)), key=lambda at: len(words[at]))
        word = words[longest]
        if choice == 2 and len(word) >= 5:
            at = rng.randrange(1, len(word) - 2)
            swapped = word[:at] + word[at + 1] + word[at] + word[at + 2 :]
            return [*words[:longest], swapped, *words[longest + 1 :]]
        return [*words, "International"] if rng.random() < 0.5 else [*words, "Intl"]

    # -- domains and web addresses ------------------------------------------------------

    def domain(self, words: list[str], country: str) -> str:
        rng = self.rng
        letters = [_slug(w) for w in words if w not in ("&", "and")]
        while True:
            choice = rng.randrange(4)
            if choice == 0:
                stem = "".join(letters)
            elif choice == 1:
                stem = "-".join(letters)
            elif choice == 2:
                stem = "".join(word[0] for word in letters) + "-" + letters[-1]
            else:
                stem = letters[0] + str(rng.randrange(2, 99))
            ending = COUNTRIES[country][1] if rng.random() < 0.7 else rng.choice(["com", "net"])
            domain = f"{stem[:40]}.{ending}"
            if domain not in self.used_domains:
                self.used_domains.add(domain)
                return domain

    def web_address(self, host: str) -> str:
        """A web address on ``host``, as people type them into Autotask."""
        rng = self.rng
        shapes = [
            "{h}", "www.{h}", "https://www.{h}/", "http://{h}", "https://{h}/contact-us",
            "HTTPS://WWW.{H}", "www.{h}/en/home?ref=footer", "https://{h}:443/", " {h} ",
            "http://www.{h}:8080/index.html",
        ]  # fmt: skip
        return rng.choice(shapes).format(h=host, H=host.upper())

    # -- the world ----------------------------------------------------------------------

    def company(self, name: str, web: str = "", **extra) -> CompanySpec:
        company = CompanySpec(name=name, web_address=web, **extra)
        self.world.companies.append(company)
        return company

    def organization(self, name, domains, kind, company=None, domain="") -> OrganizationSpec:
        number = len(self.world.organizations) + 1
        organization = OrganizationSpec(
            customer_id=f"{self.rng.getrandbits(32):08x}-0000-4000-8000-{number:012d}",
            name=name,
            domains=domains,
            kind=kind,
            company=company,
            domain=domain,
        )
        self.world.organizations.append(organization)
        return organization

    def tenant_default(self, words: list[str]) -> str:
        stem = "".join(_slug(w) for w in words if w not in ("&", "and"))[:27]
        return f"{stem}{self.rng.randrange(10, 99)}.onmicrosoft.com"


def build_world(seed: int, *, organizations: int = 500, companies: int = 600,
                check_unmatched: bool = True) -> World:  # fmt: skip
    """``organizations`` tenants and ``companies`` companies in the issue's shares; with
    ``check_unmatched``, no tenant without a company has a name close to any company's
    (such a pair would be the same business for all anyone can tell)."""
    make = _Maker(seed)
    scale = companies / 600
    rng = make.rng

    def country():
        return rng.choice(COUNTRY_CODES)

    for _ in range(round(VANITY * scale)):
        words, where = make.base(), country()
        form = make.form(where)
        domain = make.domain(words, where)
        right_name = make.trading_name(words) if rng.random() < 0.5 else None
        right = make.company(right_name or make.styled(words, form), make.web_address(domain))
        domains = [make.tenant_default(words), domain]
        if rng.random() < 0.2:
            domains.append(make.domain(words, country()))  # a second domain, unused
        rng.shuffle(domains)
        make.organization(make.styled(words, form), domains, "vanity domain", right, domain)
        roll = rng.random()
        if roll < 0.55:  # a sister company with the tenant's very name, on another domain
            other = country()
            make.company(make.styled(words, make.form(other)),
                         make.web_address(make.domain(words, other)))  # fmt: skip
        if roll < 0.15:  # ... and one on a sub-domain of the tenant's own domain
            make.company(make.styled(words, form), make.web_address(f"shop.{domain}"))
        if 0.55 <= roll < 0.75:  # the same company, inactive or deleted in Autotask
            make.company(make.styled(words, form), make.web_address(domain),
                         is_active=False, gone=rng.random() < 0.4)  # fmt: skip
        elif 0.75 <= roll < 0.85:  # a prospect record with the same domain
            make.company(make.styled(words, form), make.web_address(domain), company_type=3)
        if rng.random() < 0.3:  # the tenant's name on a domain that only looks like its own
            make.company(make.styled(words, make.form(country())),
                         make.web_address(rng.choice(_look_alikes(domain))))  # fmt: skip

    for _ in range(round(SUBDOMAIN * scale)):
        words, where = make.base(), country()
        domain = make.domain(words, where)
        if rng.random() < 0.5:
            tenant, web = f"mail.{domain}", make.web_address(domain)
        else:
            tenant, web = domain, f"https://portal.{domain}/login"
        right = make.company(make.styled(words, make.form(where)), web)
        make.organization(make.styled(words, make.form(where)),
                          [make.tenant_default(words), tenant], "sub-domain", right)  # fmt: skip

    vanity = [o for o in make.world.organizations if o.kind == "vanity domain"]
    for shared in rng.sample(vanity, min(len(vanity), round(SECOND_TENANT * scale))):
        words = shared.name.split()
        name = rng.choice([f"{shared.name} (Test)", f"{shared.name} - Dev tenant"])
        make.organization(name, [make.tenant_default(words), shared.domain], "second tenant",
                          shared.company, shared.domain)  # fmt: skip

    for _ in range(round(SURFACE * scale)):
        words, where = make.base(), country()
        form = make.form(where)
        web = make.web_address(make.domain(words, where)) if rng.random() < 0.4 else ""
        right = make.company(make.styled(words, form), web)
        domains = [make.tenant_default(words)]
        if rng.random() < 0.3:  # a vanity domain the company's web address does not show
            domains.append(make.domain(words, where))
        make.organization(make.styled(words, form), domains, "legal form and punctuation",
                          right)  # fmt: skip
        roll = rng.random()
        longer = [*words, rng.choice(EXTRAS)]
        if roll < 0.3 and make.claim(longer):  # a longer name that contains this one
            make.company(make.styled(longer, make.form(where)))
        elif roll < 0.4:  # another legal entity of the same name: only the form differs
            others = [f for f in COUNTRIES[where][0] if f != form]
            twin = others[0] if others else make.form(rng.choice(["GB", "US", "DE"]))
            if twin != form:
                make.company(make.styled(words, [twin[0]], keep_form=True))
        elif roll < 0.5:  # an inactive copy
            make.company(make.styled(words, form), web, is_active=False)

    for _ in range(round(SMALL * scale)):
        words, where = make.base(), country()
        form = make.form(where)
        right = make.company(make.styled(make.small_difference(words), form))
        make.organization(make.styled(words, form), [make.tenant_default(words)],
                          "small difference", right)  # fmt: skip

    while len(make.world.companies) < companies:  # other customers, prospects, vendors
        words, where = make.base(), country()
        web = make.web_address(make.domain(words, where)) if rng.random() < 0.6 else ""
        kind = rng.choices([1, 3, 7, 2, 4], weights=[70, 12, 10, 4, 4])[0]
        make.company(make.styled(words, make.form(where)), web, company_type=kind,
                     is_active=rng.random() > 0.05)  # fmt: skip

    known = [_key(c.name.split()) for c in make.world.companies]
    while len(make.world.organizations) < organizations:
        words, where = make.base(), country()
        if check_unmatched and _close_to_any(_key(words), known):
            continue
        domains = [make.tenant_default(words)]
        if rng.random() < 0.5:
            domains.append(make.domain(words, where))
        make.organization(make.styled(words, make.form(where)), domains, "no company")

    rng.shuffle(make.world.companies)  # the right company is not always the first made
    for number, company in enumerate(make.world.companies, start=1):
        company.autotask_id = 30_000_000 + number * 7
    rng.shuffle(make.world.organizations)
    return make.world


def _look_alikes(domain: str) -> list[str]:
    """Domains a careless match takes for ``domain``: none of them is it."""
    stem, ending = domain.split(".", 1)
    found = [f"my{domain}", f"{domain}.cdn-host.net", f"{stem}-{ending.replace('.', '-')}.com"]
    if "." in ending:  # contoso.co for contoso.co.uk, contoso.com for contoso.com.au
        found.append(f"{stem}.{ending.split('.')[0]}")
    return found


def _slug(word: str) -> str:
    return "".join(ch for ch in word.lower().translate(UNACCENTED) if ch.isalnum())


def _key(words: list[str]) -> str:
    """The generator's own notion of "the same name": lower-case words without "&"."""
    return " ".join(sorted(_slug(w) for w in words if w not in ("&", "and") and _slug(w)))


def _close_to_any(key: str, keys: list[str]) -> bool:
    return any(fuzz.token_set_ratio(key, other) >= 85 for other in keys)
