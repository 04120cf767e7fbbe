"""The automatic checks on a new report: pure functions, each explaining itself.

A check returns a :class:`Finding` naming its rule and the words that triggered it, so
that the verifier (and the citizen, for what concerns them) sees why. :func:`decide`
turns the findings into one outcome: confident cases are decided here, the rest go to
the verifiers' queue. Thresholds come from :class:`Thresholds` (the service's settings).

The cue lists are Indonesian as citizens write it (informal spellings and abbreviations
included: ``jl``, ``gg``, ``kec``, ``tgl``, ``pk``). They were tuned on the labelled set
in ``bench/data/verification-labelled.jsonl``; ``python -m bench.verification_checks``
prints each check's precision and recall on it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from services.categories import ELEMENTS, NEEDS

# --- text helpers -----------------------------------------------------------------------

_TOKEN = re.compile(r"[^\W_]+(?:[-'][^\W_]+)*", re.UNICODE)
_LETTERS = re.compile(r"[^\W\d_]{2,}", re.UNICODE)

# Words that carry no content: left out of similarity and of the gibberish lexicon test.
STOPWORDS = frozenset(
    [
        "yang",
        "di",
        "ke",
        "dari",
        "dan",
        "atau",
        "untuk",
        "dengan",
        "pada",
        "ini",
        "itu",
        "ada",
        "tidak",
        "tak",
        "belum",
        "sudah",
        "telah",
        "akan",
        "sangat",
        "juga",
        "saja",
        "sekali",
        "lagi",
        "karena",
        "sehingga",
        "agar",
        "supaya",
        "tetapi",
        "tapi",
        "namun",
        "jadi",
        "kami",
        "kita",
        "saya",
        "aku",
        "anda",
        "mereka",
        "dia",
        "ia",
        "kamu",
        "bapak",
        "ibu",
        "pak",
        "bu",
        "sdr",
        "mohon",
        "tolong",
        "harap",
        "segera",
        "bisa",
        "dapat",
        "sampai",
        "hingga",
        "sejak",
        "oleh",
        "para",
        "dalam",
        "luar",
        "atas",
        "bawah",
        "antara",
        "seperti",
        "lebih",
        "kurang",
        "masih",
        "pun",
        "nya",
        "kah",
        "lah",
        "mau",
        "ingin",
        "hal",
        "hari",
        "kali",
        "sama",
        "bagi",
        "tersebut",
    ]
)

# Common Indonesian words: a story with almost none of them is not Indonesian text.
LEXICON = STOPWORDS | frozenset(
    [
        "jalan",
        "rusak",
        "lubang",
        "sampah",
        "air",
        "listrik",
        "mati",
        "lampu",
        "warga",
        "kampung",
        "desa",
        "kelurahan",
        "kecamatan",
        "kota",
        "kabupaten",
        "sekolah",
        "guru",
        "murid",
        "siswa",
        "rumah",
        "sakit",
        "puskesmas",
        "dokter",
        "pasien",
        "obat",
        "bantuan",
        "sosial",
        "petugas",
        "pegawai",
        "kantor",
        "pelayanan",
        "layanan",
        "surat",
        "ktp",
        "kk",
        "akta",
        "uang",
        "bayar",
        "minta",
        "meminta",
        "biaya",
        "pungutan",
        "antre",
        "antri",
        "lama",
        "banjir",
        "got",
        "selokan",
        "drainase",
        "jembatan",
        "bus",
        "angkot",
        "kereta",
        "terminal",
        "stasiun",
        "polisi",
        "laporan",
        "lapor",
        "keluhan",
        "masalah",
        "bulan",
        "minggu",
        "tahun",
        "pagi",
        "siang",
        "sore",
        "malam",
        "kemarin",
        "tadi",
        "sekarang",
        "setiap",
        "banyak",
        "semua",
        "tolong",
        "mohon",
        "segera",
        "diperbaiki",
        "perbaikan",
        "dibiarkan",
        "rusak",
        "parah",
        "bau",
        "kotor",
        "macet",
        "anak",
        "orang",
        "bpjs",
        "pln",
        "pdam",
        "pipa",
        "bocor",
        "keruh",
        "tiang",
        "kabel",
        "pohon",
        "tumbang",
        "tanah",
        "longsor",
        "dana",
        "tidak",
        "ada",
        "sudah",
        "belum",
        "pernah",
        "harus",
        "bisa",
        "terjadi",
        "bagaimana",
        "kenapa",
        "mengapa",
        "kapan",
    ]
)


def tokens(text: str) -> list[str]:
    """Lower-cased word tokens (letters and digits)."""
    return [t.lower() for t in _TOKEN.findall(text)]


def words(text: str) -> list[str]:
    """Tokens made of letters only (two or more): the words of the story."""
    return _LETTERS.findall(text)


def content_words(text: str) -> set[str]:
    """Distinct tokens that carry meaning (no stopwords, no single characters)."""
    return {t for t in tokens(text) if len(t) > 1 and t not in STOPWORDS}


def _phrases(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE | re.UNICODE)


# --- findings ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """What one check found: its rule, a plain explanation, and the words behind it."""

    check: str  # completeness, duplicate, out_of_scope, abuse, privacy
    rule: str
    detail: str
    evidence: tuple[str, ...] = ()
    confident: bool = True

    def as_dict(self) -> dict[str, object]:
        """For storage and the API."""
        return {
            "check": self.check,
            "rule": self.rule,
            "detail": self.detail,
            "evidence": list(self.evidence),
            "confident": self.confident,
        }


@dataclass(frozen=True)
class Thresholds:
    """The checks' tunable numbers (settings ``VERIFICATION_*``)."""

    min_words: int = 2
    what_min_words: int = 6
    duplicate_same_reporter: float = 0.45
    duplicate_same_place: float = 0.35
    duplicate_possible: float = 0.25
    duplicate_window_days: int = 30
    flood_per_hour: int = 5
    gibberish_lexicon_share: float = 0.05


# --- completeness (5W1H) ----------------------------------------------------------------

# The 5W1H elements' names for citizens live in the kit: every page and notice asks there.
ELEMENT_NAMES = ELEMENTS

# What each category needs before an agency can act (DOMAIN.md: a pothole needs only a
# place; extortion needs who, where, when and how).
REQUIRED: dict[str, tuple[str, ...]] = NEEDS

# Place nouns: followed by a name ("Jalan Cikutra", "Puskesmas Sememi", "RT 04") they say
# where. Weak ones ("depan", "kali") count only before a capitalised name or a number.
_PLACE_NOUNS = (
    r"jalan|jln?|gang|gg|lorong|desa|kelurahan|kel|kecamatan|kec|kampung|kp|dusun|dukuh|"
    r"rt|rw|blok|perumahan|perum|komplek|kompleks|pasar|terminal|stasiun|halte|bandara|"
    r"pelabuhan|puskesmas|pustu|posyandu|rsud|rsu|rs|rumah\s+sakit|klinik|sekolah|sd|sdn|"
    r"smp|smpn|sma|sman|smk|smkn|mts|madrasah|kampus|kantor|balai|polsek|polres|"
    r"polrestabes|polda|samsat|satpas|dukcapil|disdukcapil|kua|kejaksaan|jembatan|simpang|"
    r"perempatan|pertigaan|bundaran|alun-alun|lapangan|taman|sungai|tpu|tps|tpa|masjid|"
    r"gereja|km|loket|gerbang|gedung|spbu|gardu|tol|flyover|underpass|trotoar|kios|ruko|"
    r"mall|mal|plaza|bank|upt|uptd|dinas|banjar|lingkungan|pantai|tanjakan|perlintasan|"
    r"apotek|koperasi"
)
_WEAK_PLACE_NOUNS = r"depan|belakang|samping|seberang|dekat|sebelah|ujung|kali|cabang|unit|nomor|no"
# Words that follow a place noun without naming a place ("sekolah anak saya", "jalan
# rusak", "puskesmas sangat...").
COMMON = LEXICON | frozenset(
    [
        "sangat",
        "minta",
        "anak",
        "rusak",
        "gelap",
        "kami",
        "lipat",
        "datang",
        "keluarga",
        "dengan",
        "lain",
        "mewajibkan",
        "terbuka",
        "penuh",
        "jarang",
        "negeri",
        "umum",
        "besar",
        "kecil",
        "baru",
        "lama",
        "setempat",
        "terdekat",
        "sekitar",
        "mana",
        "sini",
        "sana",
        "situ",
        "tempat",
        "saat",
        "waktu",
        "yang",
        "tidak",
        "belum",
        "sering",
        "selalu",
        "kadang",
        "itu",
        "ini",
        "raya",
        "tersebut",
        "kita",
        "kalian",
        "mereka",
        "warga",
        "setiap",
        "semua",
        "beberapa",
        "para",
        "pun",
        "hanya",
        "cuma",
        "pusat",
        "utama",
        "daerah",
        "wilayah",
        "swasta",
        "pemerintah",
        "resmi",
        "liar",
        "milik",
        "sudah",
        "masih",
        "juga",
        "bahkan",
    ]
)


# Lower-case words with these beginnings are verbs and adjectives ("jalan berlubang",
# "kantor ditutup"), not names; a capitalised name passes whatever its beginning.
_AFFIXED = re.compile(r"^(?:ber|ter|di|me|pe|se|ke)[a-z]{3,}")


def _place_name(match: re.Match[str]) -> bool:
    follower = match.group("name")
    if any(c.isdigit() for c in follower) or follower[:1].isupper():
        return True
    word = follower.lower().strip(".,")
    return match.group("weak") is None and word not in COMMON and not _AFFIXED.match(word)


_PLACE = re.compile(
    rf"\b(?:(?P<strong>{_PLACE_NOUNS})|(?P<weak>{_WEAK_PLACE_NOUNS}))\.?[ \t]+"
    r"(?P<name>[\w'-]+)",
    re.IGNORECASE | re.UNICODE,
)
_WHERE = [
    _phrases(r"\brt\.?\s*\d+\s*/\s*(?:rw\.?\s*)?\d+"),
    # "di Cibiru", "di depan Indomaret": a capitalised name after a place preposition.
    re.compile(r"\b(?:[Dd]i|[Kk]e|[Dd]ekat|[Dd]epan|[Ss]ekitar)\s+(?-i:[A-Z][\w'-]{2,})"),
]
_WHEN = [
    _phrases(r"\b\d{1,2}\s*[/.-]\s*\d{1,2}(?:\s*[/.-]\s*\d{2,4})?\b"),
    _phrases(
        r"\b\d{1,2}\s+(?:januari|februari|maret|april|mei|juni|juli|agustus|september|"
        r"oktober|november|desember|jan|feb|mar|apr|jun|jul|agu|agt|ags|sep|sept|okt|nov|"
        r"des)\b"
    ),
    _phrases(
        r"\b(?:senin|selasa|rabu|kamis|jumat|jum'at|sabtu|minggu|ahad)(?:\s+(?:lalu|kemarin|"
        r"pagi|siang|sore|malam|ini))?\b"
    ),
    _phrases(
        r"\b(?:kemarin|kemaren|kmrn|semalam|tadi\s+(?:pagi|siang|sore|malam)|hari\s+ini|"
        r"pagi\s+tadi|minggu\s+lalu|bulan\s+lalu|tahun\s+lalu|pekan\s+lalu|lusa)\b"
    ),
    _phrases(r"\b(?:pukul|pkl|pk|jam)\s*\d{1,2}(?:[.:]\d{2})?"),
    _phrases(r"\b\d+\s*(?:hari|minggu|pekan|bulan|tahun|jam)\s+(?:yang\s+)?(?:lalu|terakhir)\b"),
    _phrases(r"\b(?:sejak|selama|sudah|sdh)\s+\d+\s*(?:hari|minggu|pekan|bulan|tahun)\b"),
    _phrases(
        r"\b(?:awal|akhir|pertengahan|bulan|sejak|pada|tanggal|tgl|hingga|sampai)\s+(?:januari|februari|maret|april|mei|juni|"
        r"juli|agustus|september|oktober|november|desember)\b"
    ),
    _phrases(r"\btahun\s+20\d\d\b|\btgl\.?\s*\d+"),
]
_WHO = [
    _phrases(
        r"\b(?:petugas|pegawai|oknum|staf|staff|pejabat|kepala|lurah|camat|kades|"
        r"sekdes|perangkat\s+desa|guru|dokter|perawat|bidan|satpam|security|polisi|polantas|"
        r"anggota|sopir|supir|kondektur|kenek|operator|calo|preman|juru\s+parkir|jukir|"
        r"bendahara|panitia|ketua|pengurus|kasir|teller|loket\w*|kepsek|"
        r"berseragam|berinisial|bernama|namanya)\b"
    ),
    re.compile(r"\b(?:[Pp]ak|[Bb]apak|[Bb]u|[Ii]bu|[Ss]dr\.?|[Mm]as|[Mm]bak)\s+(?-i:[A-Z]\w+)"),
    re.compile(r"\binisial\s+(?-i:[A-Z]{1,3})\b", re.IGNORECASE),
]
_HOW = [
    _phrases(r"\bRp\.?\s*\d[\d.,]*"),
    _phrases(r"\b\d+(?:[.,]\d+)?\s*(?:rb|ribu|jt|juta)\b"),
    _phrases(
        r"\b(?:meminta|minta|dimintai|diminta|memungut|dipungut|menarik|ditarik|"
        r"membayar|dibayar|bayar|menyetor|setor|transfer|amplop|uang\s+(?:rokok|pelicin|"
        r"administrasi|jasa|terima\s+kasih|damai|tebusan)|tanpa\s+(?:kuitansi|kwitansi|"
        r"bukti)|dengan\s+(?:cara|alasan|dalih)|memaksa|dipaksa|mengancam|diancam|"
        r"menahan|ditahan)\b"
    ),
]
_DETECTORS: dict[str, list[re.Pattern[str]]] = {"where": _WHERE, "when": _WHEN, "who": _WHO}
_DETECTORS["how"] = _HOW


def elements(title: str, body: str, what_min_words: int) -> dict[str, tuple[str, ...]]:
    """The 5W1H elements found in a report, each with the words that show it."""
    text = f"{title}\n{body}"
    found: dict[str, tuple[str, ...]] = {}
    story = words(body)
    if len(story) >= what_min_words:
        found["what"] = (f"{len(story)} kata cerita",)
    for element, patterns in _DETECTORS.items():
        hits = [m.group(0).strip() for p in patterns for m in p.finditer(text)]
        if element == "where":
            hits = [m.group(0).strip() for m in _PLACE.finditer(text) if _place_name(m)] + hits
        if hits:
            found[element] = tuple(dict.fromkeys(hits))[:5]
    return found


def completeness(category: str, title: str, body: str, thresholds: Thresholds) -> Finding | None:
    """The elements the category needs and the report lacks, or None when complete."""
    needed = REQUIRED.get(category, ("what", "where"))
    found = elements(title, body, thresholds.what_min_words)
    missing = [e for e in needed if e not in found]
    if not missing:
        return None
    names_id = "; ".join(ELEMENT_NAMES[m][0] for m in missing)
    names_en = ", ".join(ELEMENT_NAMES[m][1] for m in missing)
    return Finding(
        "completeness",
        f"5w1h:{category}",
        f"Laporan {category} perlu: {names_id}. / A {category} report needs: {names_en}.",
        tuple(missing),
    )


def missing_elements(finding: Finding | None) -> list[str]:
    """The 5W1H elements a completeness finding names."""
    return list(finding.evidence) if finding is not None else []


# --- out of scope (pro-justitia) ---------------------------------------------------------

_LEGAL = _phrases(
    r"\b(?:gugat\w*|menggugat|sengketa\s+(?:tanah|waris\w*|lahan|batas)|warisan|harta\s+gono"
    r"[- ]gini|cerai|perceraian|talak|hak\s+asuh|nafkah\s+anak|(?:ber)?h?utang\w*|piutang|"
    r"wanprestasi|somasi|perdata|\w*pidana|pengacara|kuasa\s+hukum|advokat|tersangka|terdakwa|"
    r"penganiayaan|dianiaya|pencuri\w*|dicuri|kecurian|dirampok|perampokan|begal|dibegal|"
    r"pembunuhan|pemerkosaan|pelecehan|penipuan|ditipu|menipu|penggelapan|digelapkan|"
    r"investasi\s+bodong|arisan\s+bodong|pencemaran\s+nama\s+baik|persidangan|sidang|"
    r"putusan|banding|kasasi|kdrt|kekerasan\s+dalam\s+rumah\s+tangga|selingkuh|zina|"
    r"surat\s+kuasa|ahli\s+waris|akta\s+jual\s+beli\s+palsu|tanah\s+saya\s+diserobot|"
    r"diserobot|penyerobotan)\b"
)
# A complaint about how police or prosecutors serve (slow, asking money, no news of a
# case) stays in scope even when it speaks of a crime.
_SERVICE_OF_LAW = _phrases(
    r"\b(?:laporan\s+(?:saya|kami|polisi\s+saya)\s+(?:tidak|belum|tak)\s+\w+|tidak\s+"
    r"(?:ditindaklanjuti|diproses|ditanggapi|dilayani|ada\s+kabar|ada\s+perkembangan)|"
    r"belum\s+(?:ditindaklanjuti|diproses|ada\s+kabar|ada\s+perkembangan)|"
    r"perkembangan\s+(?:kasus|laporan|perkara)|sp2hp|lambat|berlarut|mandek|mangkrak|"
    r"dimintai\s+uang|diminta\s+(?:uang|biaya|membayar)|meminta\s+(?:uang|biaya)|pungli|"
    r"pungutan|uang\s+damai|ditolak\s+(?:membuat|melapor)|menolak\s+laporan|pelayanan|"
    r"tidak\s+ramah|membentak|kasar|tidak\s+profesional|petugas\s+(?:jaga|piket|spkt))\b"
)
_WHERE_TO_GO = (
    "Perkara hukum (pidana atau perdata) bukan wewenang Aduan: laporkan tindak pidana ke "
    "kantor polisi terdekat (SPKT) atau lewat 110; perkara perdata (sengketa, waris, cerai, "
    "utang) diajukan ke pengadilan negeri atau agama, dan bantuan hukum gratis tersedia di "
    "Pos Bantuan Hukum (Posbakum) pengadilan atau LBH. Keluhan tentang pelayanan polisi "
    "atau jaksa tetap dapat dilaporkan di sini. / Legal cases are not ours: report crimes "
    "to the police (110), civil disputes go to the courts (free legal aid: Posbakum, LBH); "
    "complaints about how the police or prosecutors serve you are welcome here."
)


# Categories where a lone legal word says little ("rawan begal" beside a dark street).
_LEGAL_PRONE = frozenset({"kepolisian", "pelayanan-publik"})


def out_of_scope(category: str, title: str, body: str) -> Finding | None:
    """A legal case (pro-justitia) with no complaint about a public service in it."""
    text = f"{title}\n{body}"
    legal = tuple(dict.fromkeys(m.group(0).lower() for m in _LEGAL.finditer(text)))
    if not legal or (len(legal) == 1 and category not in _LEGAL_PRONE):
        return None
    service = tuple(dict.fromkeys(m.group(0).lower() for m in _SERVICE_OF_LAW.finditer(text)))
    if service:
        return None
    return Finding(
        "out_of_scope",
        "pro_justitia",
        _WHERE_TO_GO,
        legal[:5],
        confident=len(legal) >= 2,
    )


# --- abuse -----------------------------------------------------------------------------

_SPAM = _phrases(
    r"(?:https?://|www\.|wa\.me/|bit\.ly|t\.me/)\S*|\b(?:promo|diskon|gratis\s+ongkir|"
    r"klik|daftar\s+sekarang|slot|gacor|togel|judi\s+online|maxwin|deposit|bonus\s+\d+|"
    r"pinjaman\s+(?:cepat|tanpa\s+jaminan|online\s+cair)|cair\s+dalam|jual\s+(?:murah|"
    r"followers|akun)|followers|subscribe|endorse|hubungi\s+(?:wa|whatsapp)|order\s+sekarang"
    r"|harga\s+spesial|investasi\s+untung|cuan)\b"
)
_MASH = _phrases(
    r"(?:asdf|qwer|zxcv|hjkl|jkjk|wkwk|hehe|haha|test\s*test|tes\s*tes|coba\s*coba|"
    r"lorem\s+ipsum)"
)
_REPEAT = re.compile(r"(.)\1{4,}")
# Words that say nothing on their own: a message of only these is empty.
FILLER = frozenset(
    [
        "ok",
        "oke",
        "okay",
        "sip",
        "mantap",
        "halo",
        "hai",
        "hallo",
        "test",
        "tes",
        "coba",
        "p",
        "ping",
        "woi",
        "hei",
    ]
)
_CONSONANT_RUN = re.compile(r"[^aeiouy\W\d_]{4,}", re.IGNORECASE)
_VOWEL = re.compile(r"[aeiou]", re.IGNORECASE)


def _wordlike(word: str) -> bool:
    """Known Indonesian, or shaped like a word (vowels, no long consonant runs): names of
    places and people pass, keyboard mashing does not."""
    w = word.lower()
    if w in LEXICON:
        return True
    return bool(_VOWEL.search(w)) and not _CONSONANT_RUN.search(w) and not _REPEAT.search(w)


def abuse(title: str, body: str, thresholds: Thresholds) -> Finding | None:
    """Empty, nonsense or advertising text."""
    story = words(body)
    meaningful = [w for w in story if w.lower() not in STOPWORDS and w.lower() not in FILLER]
    if len(meaningful) < thresholds.min_words:
        return Finding(
            "abuse",
            "empty",
            "Isi laporan kosong atau terlalu singkat. Ceritakan apa yang terjadi, di mana, "
            "dan kapan, lalu kirim kembali. / The report has no story: say what happened, "
            "where and when, and send it again.",
            (f"{len(story)} kata",),
        )
    text = f"{title}\n{body}"
    spam = tuple(dict.fromkeys(m.group(0).lower() for m in _SPAM.finditer(text)))
    if len(spam) >= 2:
        return Finding(
            "abuse",
            "advertising",
            "Pesan ini berisi iklan atau tautan promosi, bukan pengaduan. / This is an "
            "advertisement, not a complaint.",
            spam[:5],
        )
    lowered = [w.lower() for w in story]
    known = sum(1 for w in lowered if w in LEXICON)
    shaped = sum(1 for w in lowered if _wordlike(w))
    mashed = [m.group(0) for m in _MASH.finditer(text)] + [
        m.group(0) for m in _REPEAT.finditer(text)
    ]
    share, shaped_share = known / len(lowered), shaped / len(lowered)
    if shaped_share < 0.5 or (mashed and share < 0.3):
        return Finding(
            "abuse",
            "nonsense",
            "Isi laporan tidak dapat dipahami. Tulis keluhan Anda dengan kalimat biasa. / "
            "The text cannot be understood.",
            tuple(mashed[:3]) or (f"{shaped}/{len(lowered)} kata berbentuk kata",),
        )
    if share < thresholds.gibberish_lexicon_share:
        return Finding(
            "abuse",
            "not_indonesian",
            "Hampir tidak ada kata bahasa Indonesia yang dikenali. / Almost no Indonesian "
            "words were recognised.",
            (f"{known}/{len(lowered)} kata dikenal",),
            confident=False,
        )
    return None


# --- privacy hint ------------------------------------------------------------------------

_SELF_NAME = re.compile(
    r"\b(?:[Nn]ama\s+saya(?:\s+adalah)?|[Ss]aya\s+bernama|[Ss]aya,|[Pp]elapor:|"
    r"[Hh]ormat\s+saya,?)[ \t]*(?-i:([A-Z][a-z]+(?:[ \t]+[A-Z][a-z]+){0,3}))"
)
_PHONE = re.compile(r"(?:\+62|\b62|\b0)8\d[\d\s-]{6,13}\d")
_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
_NIK = re.compile(r"\b\d{16}\b")


def _mask(value: str) -> str:
    digits = value.strip()
    return digits[:-4] + "XXXX" if len(digits) > 6 else "XXXX"


def privacy(anonymous: bool, title: str, body: str) -> Finding | None:
    """An Anonim report whose text names or reaches the reporter."""
    if not anonymous:
        return None
    text = f"{title}\n{body}"
    hits: list[str] = []
    hits += [f"nama: {m.group(1)}" for m in _SELF_NAME.finditer(text)]
    hits += [f"telepon: {_mask(m.group(0))}" for m in _PHONE.finditer(text)]
    hits += [f"email: {m.group(0)[:2]}…" for m in _EMAIL.finditer(text)]
    hits += [f"NIK: {_mask(m.group(0))}" for m in _NIK.finditer(text)]
    if not hits:
        return None
    return Finding(
        "privacy",
        "anonymous_names_reporter",
        "Laporan Anonim ini tampaknya menyebut identitas pelapor: hapus atau samarkan "
        "sebelum diteruskan ke instansi. / This anonymous report seems to name its "
        "reporter: redact it before it goes to the agency.",
        tuple(hits[:5]),
        confident=False,
    )


# --- duplicates --------------------------------------------------------------------------


@dataclass(frozen=True)
class Earlier:
    """A report already checked, as the duplicate check compares it."""

    report_id: str
    tracking_number: str
    reporter_ref: str
    category: str
    regency_code: str
    text: str
    submitted_at: datetime
    # Public: verified, neither Rahasia nor Anonim (anyone may open it by its number).
    public: bool = False


def similarity(a: str, b: str) -> float:
    """Jaccard similarity of the two texts' content words (0 to 1)."""
    wa, wb = content_words(a), content_words(b)
    if not wa or not wb:
        return 0.0
    return len(wa & wb) / len(wa | wb)


def _places(text: str) -> set[str]:
    found = {" ".join(tokens(m.group(0))) for m in _PLACE.finditer(text) if _place_name(m)}
    return found | {" ".join(tokens(m.group(0))) for m in _WHERE[0].finditer(text)}


def duplicate(
    reporter_ref: str,
    category: str,
    regency_code: str,
    text: str,
    submitted_at: datetime,
    earlier: Iterable[Earlier],
    thresholds: Thresholds,
) -> Finding | None:
    """The earlier report this one repeats: by the same reporter, or about the same place
    and category in the window. Returns the closest one."""
    window = submitted_at - timedelta(days=thresholds.duplicate_window_days)
    mine = content_words(text)
    places: set[str] | None = None  # found only when a candidate comes close
    best: tuple[float, Earlier, str] | None = None
    for e in earlier:
        if e.submitted_at < window or e.submitted_at > submitted_at:
            continue
        same_reporter = e.reporter_ref == reporter_ref
        if not same_reporter and (e.category, e.regency_code) != (category, regency_code):
            continue
        theirs = content_words(e.text)
        score = len(mine & theirs) / len(mine | theirs) if mine and theirs else 0.0
        if score < thresholds.duplicate_possible:
            continue
        if same_reporter:
            rule = "same_reporter"
        else:
            if places is None:
                places = _places(text)
            rule = "same_place" if places & _places(e.text) else "same_area"
        if best is None or score > best[0]:
            best = (score, e, rule)
    if best is None:
        return None
    score, e, rule = best
    bar = (
        thresholds.duplicate_same_place
        if rule == "same_place"
        else thresholds.duplicate_same_reporter
    )
    if rule == "same_reporter" or e.public:
        detail = (
            f"Mirip laporan #{e.tracking_number} ({score:.0%} kata sama); laporan ini "
            f"digabungkan ke sana. / Repeats report #{e.tracking_number}."
        )
    else:
        # Someone else's report the citizen cannot open (Rahasia, Anonim, not verified
        # yet): its number, or that it exists as such, is not theirs to learn. Staff
        # still see the link (evidence, and the case's duplicate_of).
        detail = (
            "Laporan serupa dari warga lain sudah kami terima dan sedang ditangani; "
            "laporan ini digabungkan ke sana. / A similar report from another citizen "
            "is already being handled; this one joins it."
        )
    return Finding(
        "duplicate",
        rule,
        detail,
        (e.report_id, e.tracking_number, f"{score:.2f}"),
        confident=score >= bar,
    )


# --- flood and blocked senders ------------------------------------------------------------


def flood(recent_by_reporter: int, thresholds: Thresholds) -> Finding | None:
    """More reports from one reporter in the last hour than a person writes."""
    if recent_by_reporter < thresholds.flood_per_hour:
        return None
    return Finding(
        "abuse",
        "flood",
        f"{recent_by_reporter + 1} laporan dari pelapor yang sama dalam satu jam. / "
        "Many reports from one reporter within an hour.",
        (str(recent_by_reporter + 1),),
        confident=False,
    )


def blocked(reason: str) -> Finding:
    """The sender is on the administrators' block list."""
    return Finding(
        "abuse",
        "blocked_sender",
        "Pengirim diblokir oleh administrator. / The sender is blocked.",
        (reason[:100],),
    )


# --- the decision ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What the checks decide: verified, rejected (with a reason code), information
    requested (with the missing elements), or queued for a verifier."""

    action: str  # verified | rejected | information_requested | queued
    reason_code: str | None
    reason: str
    findings: tuple[Finding, ...] = field(default=())
    missing: tuple[str, ...] = ()
    duplicate_of: str | None = None


def decide(findings: Sequence[Finding]) -> Outcome:
    """One outcome from the findings, most serious first. Anything a machine is not sure
    of goes to a verifier; a verifier can always overturn an automatic decision."""
    fs = tuple(findings)

    def first(check: str, confident: bool | None = True) -> Finding | None:
        return next((f for f in fs if f.check == check and confident in (None, f.confident)), None)

    abuse_f = first("abuse")
    if abuse_f is not None:
        code = "empty" if abuse_f.rule == "empty" else "abuse"
        return Outcome("rejected", code, abuse_f.detail, fs)
    scope = first("out_of_scope")
    if scope is not None:
        return Outcome("rejected", "out_of_scope", scope.detail, fs)
    dup = first("duplicate")
    if dup is not None:
        return Outcome("rejected", "duplicate", dup.detail, fs, duplicate_of=dup.evidence[0])
    dup = first("duplicate", None)
    unsure = [f for f in fs if not f.confident]
    complete = first("completeness")
    if complete is not None and not unsure:
        return Outcome(
            "information_requested",
            "incomplete",
            complete.detail,
            fs,
            missing=complete.evidence,
        )
    if unsure:
        return Outcome(
            "queued",
            None,
            "Perlu diperiksa verifikator: "
            + "; ".join(f"{f.check}/{f.rule}" for f in unsure)
            + ". / A verifier must look at it.",
            fs,
            missing=complete.evidence if complete is not None else (),
            duplicate_of=dup.evidence[0] if dup is not None else None,
        )
    return Outcome(
        "verified",
        None,
        "Pemeriksaan otomatis: laporan lengkap untuk kategorinya, bukan duplikat, dalam "
        "wewenang. / Automatic checks: complete, not a duplicate, in scope.",
        fs,
    )


def run_checks(
    *,
    title: str,
    body: str,
    category: str,
    anonymous: bool,
    reporter_ref: str,
    regency_code: str,
    submitted_at: datetime,
    earlier: Iterable[Earlier],
    recent_by_reporter: int,
    blocked_reason: str | None,
    thresholds: Thresholds,
) -> Outcome:
    """Every check on one report, then the decision."""
    findings: list[Finding] = []
    if blocked_reason is not None:
        findings.append(blocked(blocked_reason))
    for found in (
        abuse(title, body, thresholds),
        flood(recent_by_reporter, thresholds),
        out_of_scope(category, title, body),
        duplicate(
            reporter_ref,
            category,
            regency_code,
            f"{title}\n{body}",
            submitted_at,
            earlier,
            thresholds,
        ),
        completeness(category, title, body, thresholds),
        privacy(anonymous, title, body),
    ):
        if found is not None:
            findings.append(found)
    return decide(findings)
