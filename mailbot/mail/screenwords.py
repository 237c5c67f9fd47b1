"""The evidence the screen stage looks for: headers, part types, senders and wording."""

from __future__ import annotations

# Every pattern below is a regular expression matched case-insensitively.
# Subjects and the opening of the body are folded first (lower case, accents
# removed, single spaces), so their patterns are written without accents.
# Bounce wording is looked for in the body as received, a window of at most
# a thousand characters at a time (see screenfacts.windows).
#
# Every pattern must be linear in its input: no unbounded repetition that can
# re-scan the same text from many starting points.  In particular a line
# anchor is followed by `[ \t]*`, never `\s*`, which would run on across
# blank lines from every line start (20 KB of blank lines once cost 31 s).

# --- Delivery reports (RFC 3464) and bounces -------------------------------

# MIME types that only delivery status notifications carry (RFC 3464, RFC 6533).
DSN_PARTS = frozenset({"message/delivery-status", "message/global-delivery-status"})

# A copy of the message a notice is about, which bounces and list notices enclose.
ENCLOSED_PARTS = frozenset(
    {"message/rfc822", "message/global", "text/rfc822-headers", "message/global-headers"}
)

# Local parts used only by mail servers themselves (RFC 5321 section 4.5.1,
# Exchange's MicrosoftExchange<hex> system mailbox).
SYSTEM_LOCAL: tuple[str, ...] = (
    r"^mailer[-_.]?daemon$",
    r"^mail[-_.]?daemon$",
    r"^post[-_.]?master$",
    r"^mdaemon$",
    r"^microsoftexchange[0-9a-f]{32}$",
    r"^mail[-_.]?delivery[-_.]?(sub)?system$",
    # Virus scanners, content filters and mail gateways that return or hold
    # mail (amavis, MailScanner, MailMarshal, ScanMail, quarantine digests).
    r"^(anti[-_.]?)?virus([-_.]?(alert|alerts|scan|scanner|wall|check|admin|warning|notify))?$",
    r"^(amavis|amavisd|mailscanner|mailmarshal|mailsweeper|scanmail|mimedefang|clamav|clamsmtp)$",
    r"^(spam[-_.]?)?quarantine([-_.]?(notify|notice|admin|report))?$",
    r"^(content|mail|e?mail[-_.]?)[-_.]?(filter|gateway|scanner)$",
)

# Display names mail servers sign their notices with.
SYSTEM_NAMES: tuple[str, ...] = (
    r"\bmailer[- ]?daemon\b",
    r"\bmail delivery (sub)?system\b",
    r"\bmail delivery service\b",
    r"\binternet mail delivery\b",
    r"^[ \t]*\"?postmaster\"?[ \t]*(<|$)",
    r"\b(anti-?virus|virus (scanner|alert|wall|protection))\b",
    r"\b(content filter|mail ?(scanner|gateway))\b",
    r"\b(e-?mail|mail|message) security gateway\b",
    r"\bquarantine (service|manager|notification|system)\b",
)

# Subjects of delivery notices (Postfix, Sendmail, Exim, qmail, Exchange in
# several languages, Gmail, Domino), written as the templates are, anchored at
# the start once list tags are removed.  A person's "Undeliverable emails to
# parents" does not match, and the screen asks for corroboration anyway.
BOUNCE_SUBJECTS: tuple[str, ...] = (
    r"^undeliver(ed|able)( mail| message)? ?(:|$)",
    r"^undelivered mail returned to sender\b",
    r"^returned mail ?(:|$)",
    r"^delivery status notification\b",
    r"^delivery notification ?:",
    r"^(mail |message |e-?mail )?delivery (has )?(failure|failed|error)"
    r"( (notification|notice|report))? ?(:|$)",
    r"^(mail|message|e-?mail) (not delivered|could not be delivered) ?(:|$)",
    r"^non[- ]?deliverable (mail|message)\b",
    r"^mail system error\b",
    r"^(e-?mail )?bounce notification$",
    r"^failure notice$",
    r"^delayed mail\b",
    r"^warning: could not send message for past\b",
    r"^warning: (mail|message) .{0,80}\bdelayed\b",
    r"^non[- ]?delivery (report|notification)\b",
    r"^postmaster notify\b",
    # Exchange's localised non-delivery reports.
    r"^(unzustellbar|nicht zustellbar|non remis|onbestelbaar|olevererbart|kan ikke leveres|"
    r"no se puede entregar|non recapitabile|nao e possivel entregar|niedostarczalne|"
    r"ei voitu toimittaa|nedorucitelne) ?:",
    r"^(ваше сообщение не доставлено|недоставленное сообщение)",
    # Japanese and Chinese gateways, whose subjects arrive as encoded words
    # (ISO-2022-JP, GB2312) and are matched once decoded.
    r"^(配信不能|配信エラー|配信失敗|不達|未配達|メール配信エラー|送信エラー)",
    r"^(退信|邮件退回|无法投递|系统退信|投递失败|郵件退回|無法投遞)",
)

# Subjects of virus scanners and content filters that refuse or hold a
# message.  A person reports a blocked email in much the same words and may
# attach it, so these count only with a machine's sender or headers part
# (see screen._bounce).
GATEWAY_SUBJECTS: tuple[str, ...] = (
    r"^(virus|malware|threat)( found| detected| alert| warning| notification)\b",
    r"^(virus|malware) (in|found in) (your )?(message|mail|e-?mail)\b",
    r"^(warning|alert|notification|notice) ?: ?(a )?(virus|malware|infected|blocked|banned)\b",
    r"^(message|mail|e-?mail) (blocked|quarantined|rejected|refused|held)\b",
    r"^(blocked|quarantined|rejected|banned) (message|mail|e-?mail|content|attachment)\b",
    r"^(content|attachment) (blocked|filter( notification)?|violation)\b",
    r"^(banned|infected|prohibited) (attachment|file|content)s?\b",
)

# Wording and structure that only a mail server produces: the fields of a
# delivery status report written out as text, and the fixed sentences of
# common mail servers.
BOUNCE_BODY_STRONG: tuple[str, ...] = (
    r"^[ \t]*(final|original)-recipient:[ \t]*\S",
    r"^[ \t]*diagnostic-code:[ \t]*\S",
    r"^[ \t]*reporting-mta:[ \t]*\S",
    r"^[ \t]*action:[ \t]*(failed|delayed)\b",
    r"\bthis is the mail system at host\b",
    r"\bthis message was created automatically by mail delivery software\b",
    r"\bthis is the qmail-send program\b",
    r"\bthis is a delivery status notification\b",
    r"\btranscript of (the )?session follows\b",
    r"\bthe following addresses had permanent fatal errors\b",
    r"\bdelivery to the following recipients? (failed|has been delayed)\b",
    r"\bdelivery has failed to these recipients\b",
    r"\bi'?m sorry to have to inform you that your message could not\b",
    r"\bthe following addresses? had (delivery problems|permanent (fatal )?errors)\b",
    # Virus scanners and content filters reporting what they did.
    r"\b(a )?virus (was )?(found|detected) in (the|your|this) (message|e-?mail|attachment)\b",
    r"\b(message|e-?mail|attachment) (was|has been) (quarantined|blocked by|removed by)\b",
    r"\b(the|this|your) (message|e-?mail) (contained|contains) (a )?(virus|malware|"
    r"banned|blocked|prohibited)\b",
    r"\bhas been (quarantined|blocked) by (the )?(mail|e-?mail|content|virus|security)\b",
)

# Wording a bounce uses but a person describing a problem might use too,
# including the SMTP reply codes people quote ("550 5.1.1 user unknown").
BOUNCE_BODY_WEAK: tuple[str, ...] = (
    r"\b[245]\d\d[- ]#?[245]\.\d{1,3}\.\d{1,3}\b",
    r"#[45]\.\d{1,3}\.\d{1,3}\b",
    r"\b(could|can)(not| not|n['’]t) be delivered\b",
    r"\b(was|were|has|have)( not|n['’]t) been delivered\b",
    r"\b(was|were)( not|n['’]t) delivered\b",
    r"\bdid( not|n['’]t) reach\b",
    r"\bunable to deliver\b",
    r"\bundeliverable\b",
    r"\bdelivery (has )?failed\b",
    r"\bpermanent (error|failure)\b",
    r"\b(user|recipient|address) unknown\b",
    r"\bno such (user|recipient|mailbox)\b",
    r"\bmailbox (is )?(full|unavailable)\b",
    r"\bdelivery (is )?delayed\b",
)

# --- Auto-replies, receipts and reports (RFC 3834, RFC 8098, RFC 5965) -----

# Header names that auto-responders add (X-Autoreply, X-Autorespond,
# X-Auto-Reply ...).  X-Auto-Response-Suppress asks *others* not to
# auto-reply, so it is deliberately left out here.
AUTO_HEADER_NAME = r"^(x-)?(mail-)?auto[-_]?(reply|replied|respond|responder|response)(-from)?$"

# Header values that mark an auto-response.  GroupWise's X-Autogenerated also
# marks rule forwards ("Forward", "Mirror"), which may carry a person's mail.
AUTO_HEADER_VALUES = frozenset(
    {
        ("precedence", "auto_reply"),
        ("precedence", "auto-reply"),
        ("x-precedence", "auto_reply"),
        ("delivered-to", "autoresponder"),  # qmail's autorespond
        ("x-apple-action", "vacation"),
        ("x-autogenerated", "reply"),
    }
)

# Receipts (RFC 8098), feedback reports (RFC 5965) and other machine reports.
REPORT_PARTS = frozenset(
    {
        "message/disposition-notification",
        "message/global-disposition-notification",
        "message/feedback-report",
    }
)

# What auto-responders put in front of the subject they answer, before the
# colon ("Automatic reply: ...", "Abwesenheitsnotiz: ..."), or write as the
# whole subject.  Each must match that whole part, so a person's "Help with
# automatic replies: ..." does not.
AUTO_SUBJECT_TAGS: tuple[str, ...] = (
    r"^auto(matic|mated)?[- ]?(reply|response|respons|responder|answer)( \(.*\))?$",
    r"^out of (the )?office auto[- ]?reply$",
    r"^(automatische (antwort|ruckantwort)|abwesenheitsnotiz)( \(.*\))?$",  # German
    r"^(reponse automatique( d'absence du bureau)?|message d'absence)$",  # French
    r"^(automatisch antwoord|afwezigheidsbericht)$",  # Dutch
    r"^(respuesta|resposta|risposta) automatica$",  # Spanish, Portuguese, Italian
    r"^(automatyczna odpowiedz|odpowiedz automatyczna|autoodpowiedz)$",  # Polish
    r"^(arpus biroja atrasanas )?automatiska atbilde$",  # Latvian
    r"^(autosvar|automatiskt? svar|automaattinen vastaus|automaticka odpoved)$",  # Nordic, Czech
)

# Tags that only count before a colon: Lotus Notes' "AUTO: Jane is out of the
# office", "OOO: ...".  A subject of just "Auto" is more likely a person's.
AUTO_SUBJECT_PREFIXES: tuple[str, ...] = (r"^(auto|ooo)$",)

# Subject phrases of out-of-office notices.  A person asking for help with
# their own out-of-office writes them too, so they count only with support.
AWAY_SUBJECT: tuple[str, ...] = (
    r"\bout of (the )?office\b",
    r"\baway (until|till|from (the |my )?(office|desk))\b",
    r"\b(i am|i'm|currently) away\b",
    r"\bon (vacation|holiday|(annual |maternity |paternity |sick )?leave)\b",
    r"\bvacation (notice|reply|message)\b",
    r"^(abwesend|abwesenheit|nicht im buro)\b",  # German
    r"^(absent|absence)\b",  # French
    r"^(afwezig|niet aanwezig)\b",  # Dutch
    r"^(ausente|fuera de la oficina)\b",  # Spanish
    r"^(assente|fuori (ufficio|sede))\b",  # Italian
    r"^(nieobecnosc|nieobecny|nieobecna|urlop)\b",  # Polish
    r"^(atvalinajums|arpus biroja)\b",  # Latvian
)

# Words of someone asking about their out-of-office rather than sending one:
# "Out of office not working?", "Help setting up out of office".
ASKING_SUBJECT: tuple[str, ...] = (
    r"\?",
    r"\b(help|how|problem|issue|error|fix|request|need|setting|set ?up|turn (on|off))\b",
    r"\bnot (working|sending|showing|going|turning|switching|being)\b",
    r"\b(isn'?t|doesn'?t|won'?t|can'?t|cannot|didn'?t|stopped|broken)\b",
)

# A body that asks for something is a person's, whatever its first words.
ASKING_BODY: tuple[str, ...] = (
    r"\?",
    r"\b(could|can|would|will) (you|someone|somebody|anyone)\b",
)

# How out-of-office notices open.
AWAY_BODY: tuple[str, ...] = (
    r"\b(i am|i'm) (currently |now )?(out of (the )?office|away|on (annual )?leave|"
    r"on (vacation|holiday)|not in the office|out until)\b",
    r"\bi will be (out of (the )?office|away|on leave|back|returning)\b",
    r"\b(limited|no|intermittent) access to (my )?e-?mail\b",
    r"\bthis is an? automatic(ally generated)? (reply|response|message)\b",
    r"\bich bin (bis|vom|ab|derzeit|zur zeit)\b.{0,60}\b(abwesend|nicht im buro|im urlaub)\b",
    r"\bje suis (absent|absente|en conge)\b",
    r"\bik ben (afwezig|niet aanwezig|met vakantie)\b",
    r"\bestoy (fuera de la oficina|de vacaciones|ausente)\b",
    r"\bjestem (nieobecny|nieobecna|na urlopie)\b",
    r"\besmu (atvalinajuma|prombutne)\b",
)

# --- Lists, bulk and senders nobody reads ----------------------------------

BULK_PRECEDENCE = frozenset({"bulk", "junk", "list"})

# Headers added by list servers (RFC 2369, RFC 2919) and by bulk senders.
BULK_HEADERS: tuple[str, ...] = (
    "list-id",
    "list-unsubscribe",
    "list-post",
    "list-help",
    "list-subscribe",
    "mailing-list",
    "x-mailing-list",
    "x-mailman-version",
    "x-beenthere",
    "feedback-id",
    "x-campaign",
    "x-campaignid",
    "x-campaign-id",
    "x-mc-user",
)

# Local parts of addresses that send automatically and read nothing.
NOREPLY_LOCAL: tuple[str, ...] = (
    r"(^|[-_.+])(no|do[-_.]?not|dont)[-_.]?reply($|[-_.+])",
    r"(^|[-_.+])notifications?($|[-_.+])",
    r"(^|[-_.+])notify($|[-_.+])",
    r"(^|[-_.+])bounces?($|[-_.+])",
    r"(^|[-_.+])newsletters?($|[-_.+])",
)

# Local parts of addresses that only ever receive bounces: list bounce
# handlers (Mailman's "list-bounces+member=domain", Sympa's "list-owner"),
# VERP and BATV return paths ("bounce-123-...", "prvs=..."), and SRS
# rewritten senders.  A person writes to none of them, so mail delivered to
# one is a bounce whoever signed it.
BOUNCE_RECIPIENT_LOCAL: tuple[str, ...] = (
    r"(^|[-+._=])bounces?($|[-+._=])",
    r"^owner-",
    r"[-+]owner($|[-+=])",
    r"^srs[01][-+=]",
    r"^(prvs|btv1|msprvs[0-9]?)=",
)

# Challenge-response services (TMDA, ASK, SpamArrest, Boxbe, mailChannels
# and home-made ones) that hold mail until its sender proves to be a person.
# Header names they add:
CHALLENGE_HEADER_NAME = (
    r"^x-(tmda[-a-z]*|boxbe[-a-z]*|spam-?arrest[-a-z]*|ask-(info|version|confirm)|"
    r"challenge(-response)?[-a-z]*|cr-(hashedpuzzle|puzzleid))$"
)
CHALLENGE_HEADER_VALUES: tuple[tuple[str, str], ...] = (
    ("x-delivery-agent", r"^tmda\b"),
    ("x-mailer", r"\b(tmda|ask|spamarrest|boxbe)\b.{0,20}(challenge|confirm)"),
)

# Local parts they send from ("user-confirm-12345@", "user+confirm+...@").
CHALLENGE_LOCAL: tuple[str, ...] = (
    r"(^|[-+._=])(confirm|confirmation|verify|verification|challenge)($|[-+._=])",
)

# What their subjects and opening lines ask: to prove the sender is human
# or to confirm a held message.  People quote these when asking for help
# ("parents get 'confirm you are human' mails"), so wording alone does not
# count; see screen._challenge.
CHALLENGE_WORDS: tuple[str, ...] = (
    r"\b(confirm|verify|prove) (that )?you( are|'re) (a |an )?(human|real person|person|"
    r"not a (robot|spammer|bot|machine))\b",
    r"\bplease (confirm|verify) (your )?(e-?mail|message|address|identity|sender)\b",
    r"\b(sender|e-?mail|message) (verification|confirmation) (required|request|needed)\b",
    r"\b(waiting|awaiting|pending) (for )?(your )?(sender )?(confirmation|verification)\b",
    r"\bchallenge[- ]response\b",
    r"\b(is|are|has been|have been|was|were) (being )?held (until|pending) (you|your|the sender)\b",
    r"\b(list of )?(approved|verified|authori[sz]ed|allowed) senders\b",
    r"\b(my|our|this) (anti-?spam|spam) (filter|protection|service|system|software)\b",
    r"\b(i|we) (use|am using|are using) \w+ to (protect|shield|guard)\b",
)

# Words of a person telling the helpdesk about challenge mail others get
# ("parents keep getting 'please verify your email' messages"); the
# challenges themselves speak to their one reader.
CHALLENGE_REPORTING: tuple[str, ...] = (
    r"\?",
    r"\b(parents|pupils|staff|colleagues|people|they|them|their|getting|keep|since)\b",
    r"\b(could|can|would|will) (you|someone|somebody|anyone)\b",
)

# Mailing-list robots (RFC 3834 section 2 names owner- and -request).
LIST_ROBOT_LOCAL: tuple[str, ...] = (
    r"^owner-",
    r"[-+]owner$",
    r"[-+]request$",
)
