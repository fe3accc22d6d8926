#!/usr/bin/env python3
"""Generate the scanner benchmark corpus: English-like filler with planted PII.

Writes OUT/corpus.txt (ASCII, ~SIZE bytes), OUT/truth.jsonl (one planted value per line:
{"type","start","end","value"}, byte offsets) and OUT/prose.txt (the same kind of filler
with no planted values, for the false-positive check). Planted values have valid
checksums/structure; decoys of the same shapes fail them (bad Luhn, bad mod-97, SSN area
000/666/9xx, NANP area code starting 0/1, IPv4 octet > 255) and are not in the truth.
Everything here is generated: a fixed word list written for this script, seeded RNG.

usage: gen_corpus.py OUT [SIZE_BYTES] [SEED]
"""
import json
import os
import random
import sys

WORDS = """the of and to in is was for on that with as by at from this be are it an have
which or not but had has their were one all there been more its also new when who can
time year people first two about into only other some over such most after them these many
would than then make like back where through could way because even work while being
state team group system report plan project market price value result level order service
company customer account office meeting review update change support question answer
number record file note list table data model test case study rule policy risk issue task
week month morning evening today tomorrow later early soon always never often sometimes
quickly slowly carefully clearly simply really almost nearly again still already
good great small large long short high low early late free full open clear ready simple
city river garden window kitchen letter story music school street station market bridge
travel train flight hotel dinner lunch coffee paper book phone email address card bank
send call write read share check confirm cancel schedule deliver return receive finish
""".split()

TEMPLATES = {
    "EMAIL": ["Please write to {} about the report.", "My address is {} if you need it.",
              "Send the draft to {} before noon.", "Contact: {}"],
    "PHONE": ["Call me at {} after lunch.", "The office number is {}.",
              "You can reach the desk on {} today.", "Phone: {}"],
    "SSN": ["My social security number is {}.", "SSN {} was on the form.",
            "The applicant listed {} as the SSN."],
    "CREDIT_CARD": ["Charge it to card {} please.", "The card number is {}.",
                    "Payment with {} was declined.", "Visa {} expires soon."],
    "IBAN": ["Transfer the money to {} today.", "IBAN: {}", "Our account is {} at the bank."],
    "IPV4": ["The server at {} stopped responding.", "Login from {} was blocked.",
             "Ping {} to test the link."],
}


def luhn_digit(s):
    tot = 0
    for i, c in enumerate(reversed(s)):
        v = int(c)
        if i % 2 == 0:
            v *= 2
            if v > 9:
                v -= 9
        tot += v
    return str((10 - tot % 10) % 10)


def digits(r, n):
    return "".join(r.choice("0123456789") for _ in range(n))


def card(r, valid):
    prefix, n = r.choice([("4", 16), ("51", 16), ("55", 16), ("2221", 16), ("34", 15),
                          ("37", 15), ("6011", 16), ("3530", 16), ("4", 13)])
    body = prefix + digits(r, n - len(prefix) - 1)
    d = luhn_digit(body)
    if not valid:
        d = str((int(d) + r.randint(1, 9)) % 10)
    s = body + d
    style = r.random()
    if n == 16 and style < 0.33:
        return " ".join(s[i:i + 4] for i in range(0, 16, 4))
    if n == 16 and style < 0.5:
        return "-".join(s[i:i + 4] for i in range(0, 16, 4))
    if n == 15 and style < 0.4:
        return s[:4] + " " + s[4:10] + " " + s[10:]
    return s


IBAN_CC = [("DE", "8n10n"), ("GB", "4a6n8n"), ("FR", "5n5n11n2n"), ("NL", "4a10n"),
           ("ES", "4n4n1n1n10n"), ("IT", "1a5n5n12n"), ("BE", "3n7n2n"), ("CH", "5n12n")]


def iban(r, valid):
    cc, fmt = r.choice(IBAN_CC)
    bban = ""
    num = ""
    for ch in fmt:
        if ch.isdigit():
            num += ch
            continue
        cnt = int(num)
        num = ""
        alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZ" if ch == "a" else "0123456789"
        bban += "".join(r.choice(alpha) for _ in range(cnt))
    if cc == "IT":  # the Italian CIN check letter is part of the BBAN, any letter is well-formed
        pass
    n = int("".join(str(int(c, 36)) for c in bban + cc + "00"))
    ck = 98 - n % 97
    if not valid:
        ck = (ck + r.randint(1, 96)) % 97 + 2
        if ck == 98 - n % 97:
            ck = ck % 97 + 2
    s = cc + "%02d" % ck + bban
    if r.random() < 0.4:
        return " ".join(s[i:i + 4] for i in range(0, len(s), 4))
    return s


def ssn(r, valid):
    if valid:
        while True:
            a = r.randint(1, 899)
            if a != 666:
                break
        g, s = r.randint(1, 99), r.randint(1, 9999)
    else:
        a = r.choice([0, 666, r.randint(900, 999)])
        g, s = r.randint(1, 99), r.randint(1, 9999)
    return "%03d-%02d-%04d" % (a, g, s)


def phone(r, valid):
    area = r.randint(2, 9) * 100 + r.randint(0, 99)
    if area % 100 == 11:
        area += 1
    exch = r.randint(2, 9) * 100 + r.randint(0, 99)
    if exch % 100 == 11:
        exch += 1
    if not valid:
        area = r.randint(0, 1) * 100 + r.randint(0, 99)
    line = r.randint(0, 9999)
    style = r.randint(0, 3)
    if style == 0:
        return "(%03d) %03d-%04d" % (area, exch, line)
    if style == 1:
        return "%03d-%03d-%04d" % (area, exch, line)
    if style == 2:
        return "+1 %03d %03d %04d" % (area, exch, line)
    return "%03d.%03d.%04d" % (area, exch, line)


FIRST = "anna ben carla david elena frank grace henry irene james karen leo maria nina omar".split()
LAST = "smith jones brown taylor wilson moore clark lewis walker young king wright".split()
DOMS = "example.com mail.example.org corp.example.net example.co.uk shop.example.io".split()


def email(r, valid):
    local = r.choice(FIRST) + r.choice([".", "_", ""]) + r.choice(LAST) + (
        str(r.randint(1, 99)) if r.random() < 0.3 else "")
    if not valid:
        return local + "@" + r.choice(["localhost", "intranet", "server"])
    return local + "@" + r.choice(DOMS)


def ipv4(r, valid):
    o = [r.randint(1, 223), r.randint(0, 255), r.randint(0, 255), r.randint(1, 254)]
    if not valid:
        o[r.randint(0, 3)] = r.randint(256, 299)
    return ".".join(map(str, o))


GEN = {"EMAIL": email, "PHONE": phone, "SSN": ssn, "CREDIT_CARD": card, "IBAN": iban,
       "IPV4": ipv4}


def sentence(r):
    n = r.randint(6, 16)
    w = [r.choice(WORDS) for _ in range(n)]
    if r.random() < 0.15:
        w.insert(r.randint(0, n), str(r.choice([r.randint(2, 99), r.randint(1990, 2030)])))
    if r.random() < 0.05:
        w.insert(r.randint(0, n), "%d:%02d" % (r.randint(1, 12), r.randint(0, 59)))
    s = " ".join(w)
    return s[0].upper() + s[1:] + r.choice([".", ".", ".", "?", "!"])


def main():
    out = sys.argv[1]
    size = int(sys.argv[2]) if len(sys.argv) > 2 else 10 * 1000 * 1000
    seed = int(sys.argv[3]) if len(sys.argv) > 3 else 42
    r = random.Random(seed)
    os.makedirs(out, exist_ok=True)
    parts, truth, pos = [], [], 0
    while pos < size:
        for _ in range(r.randint(2, 5)):
            s = sentence(r) + " "
            parts.append(s)
            pos += len(s)
        typ = r.choice(list(GEN))
        valid = r.random() < 0.7
        value = GEN[typ](r, valid)
        tpl = r.choice(TEMPLATES[typ])
        k = tpl.index("{}")
        s = tpl.replace("{}", value) + ("\n" if r.random() < 0.2 else " ")
        if valid:
            truth.append({"type": typ, "start": pos + k, "end": pos + k + len(value),
                          "value": value})
        parts.append(s)
        pos += len(s)
    with open(os.path.join(out, "corpus.txt"), "w") as f:
        f.write("".join(parts))
    with open(os.path.join(out, "truth.jsonl"), "w") as f:
        for t in truth:
            f.write(json.dumps(t) + "\n")
    prose, n = [], 0
    while n < size // 5:
        s = sentence(r) + (" " if r.random() < 0.9 else "\n")
        prose.append(s)
        n += len(s)
    with open(os.path.join(out, "prose.txt"), "w") as f:
        f.write("".join(prose))


if __name__ == "__main__":
    main()
