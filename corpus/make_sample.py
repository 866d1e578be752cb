#!/usr/bin/env python
"""Generate the small, original English NER sample corpus shipped with spacy-rnn-ner.

Every sentence and name in this file was written for this project (fictional
names, plus a few public figures, places and companies mentioned in new,
made-up sentences).  Nothing is taken from CoNLL-2003, OntoNotes, WNUT or any
other annotated corpus.  Released under the repository's MIT licence.

Usage:  python corpus/make_sample.py [--check]

--check (needs spaCy) verifies that spacy.blank("en") splits each
detokenised sentence into exactly the annotated tokens.

Writes train.iob, dev.iob and texts.txt next to this script (stdlib only,
deterministic: same output on every run).

Template mini-language (tokens are separated by single spaces):
  [Roosevelt Street|LOC]   fixed entity of one or more tokens
  {city}                   slot filled from a name list below (label from SLOTS)
  {city|lower}             same, lowercased (social-media style)
  {score}                  special slot: a football-style score such as 2-1
  ~tok                     glue: no space between tok and the previous token
Punctuation such as , . ! ? ; : 's n't % ) gets no space before it, and
( $ # get no space after them, so the detokenised text is ordinary English
that spaCy's English tokenizer splits back into exactly these tokens.
"""

import collections
import os
import random
import re
import sys

SEED = 20240611
HERE = os.path.dirname(os.path.abspath(__file__))
LABELS = ("PER", "LOC", "ORG", "MISC")

# --------------------------------------------------------------------------
# Name lists.  The last quarter of each list (DEV_ONLY_FRACTION) is never
# used when generating train.iob, so dev.iob contains names unseen in train.
# --------------------------------------------------------------------------
DEV_ONLY_FRACTION = 0.25

SLOTS = {
    "per": ("PER", [
        "Maria Lindqvist", "Tomas Okafor", "Priya Raman", "Jonah Whitfield",
        "Elena Marchetti", "Kwame Mensah", "Sofia Duarte", "Henrik Aalto",
        "Grace Nakamura", "Daniel Osei", "Ines Carvalho", "Lukas Brenner",
        "Amara Eze", "Oliver Pratt", "Yuki Tanabe", "Fatima Haddad",
        "Rafael Soto", "Clara Weiss", "Mary Ellen Fisher", "Juan Carlos Ortega",
        "Nadia Petrova", "Marco Bellini", "Hannah Kowalski", "Ahmed Farouk",
        "Lena Vogel", "Diego Alvarez", "Chloe Martin", "Viktor Horvath",
        "Aisha Bello", "Peter van Dijk", "Rosa Quintero", "Felix Hartmann",
    ]),
    "last": ("PER", [
        "Okafor", "Lindqvist", "Raman", "Whitfield", "Marchetti", "Mensah",
        "Duarte", "Aalto", "Nakamura", "Osei", "Brenner", "Pratt", "Tanabe",
        "Haddad", "Soto", "Weiss", "Petrova", "Bellini", "Kowalski", "Farouk",
        "Alvarez", "Horvath", "Bello", "Quintero", "Hartmann", "Achterberg",
        "Mwangi", "Castellanos",
    ]),
    "city": ("LOC", [
        "London", "Nairobi", "Lisbon", "Osaka", "Toronto", "Buenos Aires",
        "Cape Town", "Rio de Janeiro", "San Francisco", "New York", "Hamburg",
        "Krakow", "Mumbai", "Lagos", "Melbourne", "Oslo", "Seoul", "Lima",
        "Marseille", "Denver", "Manila", "Accra", "Porto", "Helsinki",
        "Vancouver", "Kyoto", "Tbilisi", "Valparaiso", "Tallinn", "Da Nang",
    ]),
    "country": ("LOC", [
        "France", "Kenya", "Brazil", "Japan", "Canada", "Germany", "Nigeria",
        "Peru", "Norway", "Vietnam", "Chile", "Poland", "Ghana", "Mexico",
        "India", "Portugal", "New Zealand", "South Korea", "Egypt", "Spain",
        "Estonia", "Georgia", "Uruguay", "Morocco",
    ]),
    "river": ("LOC", [
        "Danube", "River Thames", "Mekong", "Rhine", "Zambezi", "Volga",
        "Loire", "Orinoco", "Yukon River", "Douro",
    ]),
    "mountain": ("LOC", [
        "Mount Kenya", "Mont Blanc", "Mount Fuji", "Kilimanjaro", "Ben Nevis",
        "Mount Rainier", "Denali", "Aconcagua",
    ]),
    "street": ("LOC", [
        "Roosevelt Street", "Lincoln Avenue", "Baker Street", "Elm Road",
        "Harbour Lane", "Fifth Avenue", "Maple Drive", "Queen Street",
        "Washington Boulevard", "Jackson Street", "Adams Road",
        "Victoria Road", "Madison Avenue", "Nelson Street", "Kennedy Road",
        "Churchill Way",
    ]),
    "company": ("ORG", [
        "Northwind Logistics", "Brightwater Energy", "Kestrel Motors",
        "Solace Pharma", "Halden Bank", "Orbitex", "Bluefin Foods",
        "Tessaro Systems", "Greyline Airways", "Marlow & Finch", "Ford",
        "Dell", "Tesla", "Ferrari", "Morgan Stanley", "Lumen Telecom",
        "Copperleaf Media", "Vantage Rail", "Quillstone Capital", "Amazon",
    ]),
    "club": ("ORG", [
        "Riverside United", "Harbour City", "Northgate Rovers",
        "Atletico Sierra", "Kingsport Athletic", "Chelsea", "Valley Wanderers",
        "Eastfield Town", "Real Costa", "Portside Rangers", "Westbrook Albion",
        "Sporting Lumiar",
    ]),
    "agency": ("ORG", [
        "European Space Agency", "World Health Organization",
        "Federal Reserve", "United Nations", "National Weather Service",
        "Interpol", "Port Authority", "Ministry of Transport", "Red Cross",
        "Coast Guard", "Central Statistics Office", "Food Safety Authority",
    ]),
    "univ": ("ORG", [
        "University of Oslo", "Columbia University", "Northbridge University",
        "Kyoto Institute of Technology", "Imperial College",
        "Harrowgate College", "University of Lagos", "Stanford",
        "Tallinn University", "Instituto Sierra",
    ]),
    "party": ("ORG", [
        "Green Party", "Liberal Democrats", "Labour", "Progressive Alliance",
        "National Front", "Civic Union", "Democratic Party", "Republicans",
    ]),
    "nat": ("MISC", [
        "French", "Kenyan", "Brazilian", "Japanese", "Canadian", "German",
        "Nigerian", "Peruvian", "Norwegian", "Vietnamese", "Chilean",
        "Polish", "Ghanaian", "American", "British", "Australian", "Korean",
        "Mexican", "Egyptian", "Spanish", "Estonian", "Moroccan",
    ]),
    "event": ("MISC", [
        "World Cup", "Olympic Games", "Tour de France", "Champions League",
        "Venice Biennale", "Rugby World Cup", "Wimbledon", "Super Bowl",
        "Harvest Festival", "Lagos Jazz Week", "Winter Olympics",
        "Nordic Film Days",
    ]),
    "product": ("MISC", [
        "iPhone", "Windows", "PlayStation", "Aurora X2", "Kestrel K5",
        "Boeing 737", "Nimbus Pro", "Galaxy Tab", "Orbitex One", "Model Y",
    ]),
    "lang": ("MISC", [
        "Spanish", "Swahili", "Mandarin", "Portuguese", "Finnish", "Arabic",
        "Hindi", "Polish", "Yoruba", "Estonian",
    ]),
    "prize": ("MISC", [
        "Nobel Prize", "Pulitzer Prize", "Booker Prize", "Fields Medal",
        "Golden Lion", "Turing Award",
    ]),
}

# --------------------------------------------------------------------------
# Templates, grouped by genre.  Documents are built from one genre at a time.
# --------------------------------------------------------------------------
TEMPLATES = {
    "news": [
        "{per} , a spokesman for the {agency} , said on Monday that the talks would resume in {city} .",
        "Police in {city} arrested two men after a fire destroyed a warehouse on {street} .",
        "The {agency} warned that heavy rain could flood towns along the {river} this week .",
        "{city} residents were told to boil tap water until further notice .",
        "A {nat} court sentenced {per} to four years in prison for fraud .",
        "Officials in {country} said the bridge would reopen by the end of the month .",
        "Firefighters spent six hours tackling the blaze near {mountain} .",
        "The mayor of {city} , {per} , resigned on Thursday after a long dispute over the budget .",
        "Thousands of people gathered on {street} to watch the parade .",
        "{per} was named to lead the {agency} team in {city} .",
        "The ferry from {city} to {city} was cancelled because of strong winds .",
        "Doctors at a hospital in {city} said the injured driver was in stable condition .",
        "The {agency} sent 40 tonnes of food and medicine to northern {country} .",
        "Mrs. {last} told reporters she had lived on {street} for thirty years .",
        "A {nat} tourist was rescued from {mountain} on Saturday night .",
        "The strike at the port of {city} entered its third day on Wednesday .",
        "According to the {agency} , prices rose 3.2 % in {country} last year .",
        "Local officials in {city} blamed the power cut on an old transformer .",
    ],
    "sport": [
        "{club} beat {club} {score} on Saturday to stay top of the table .",
        "{per} scored twice as {club} won {score} in {city} .",
        "The {nat} striker {per} signed a three ~- ~year deal with {club} .",
        "{club} manager {per} was sent to the stands in the second half .",
        "{per} of {country} won the men 's 10,000 metres at the {event} .",
        "{country} drew {score} with {country} in a friendly in {city} .",
        "After the {event} , {last} said he would take a long break .",
        "{per} retired from the {event} with a knee injury .",
        "{club} have confirmed that {last} will miss the rest of the season .",
        "Fans of {club} marched through {city} before kick ~- ~off .",
        "{per} won her first title at the {event} on Sunday .",
        "The {nat} team arrived in {city} late on Tuesday night .",
        "{last} 's late goal gave {club} a {score} win over {club} .",
        "The {event} final will be played in {city} next June .",
        "Goalkeeper {per} kept a clean sheet in {club} 's {score} victory .",
        "{country} qualified for the {event} for the first time since 1998 .",
    ],
    "business": [
        "{company} said quarterly profit rose 12 % on strong demand for the {product} .",
        "Shares of {company} fell sharply after the chief executive , {per} , stepped down .",
        "{company} plans to open a new factory near {city} next year .",
        "{company} agreed to buy {company} for $ 2.4 billion in cash .",
        "The {agency} left interest rates unchanged on Thursday .",
        "{per} , chief financial officer of {company} , will retire in March .",
        "{company} recalled 50,000 units of the {product} over a battery fault .",
        "Analysts at {company} expect the {nat} economy to grow 2 % this year .",
        "{company} moved its headquarters from {city} to {city} in 2019 .",
        "Sales of the {product} in {country} doubled in the first quarter .",
        "Workers at the {company} plant in {city} voted to accept the pay offer .",
        "{company} shares closed up 4 % in {city} on Friday .",
        "The board of {company} named {per} as its new chairman .",
        "Investors sold {nat} bonds after the {agency} report was published .",
        "{company} will cut 800 jobs in {country} by the end of the year .",
    ],
    "politics": [
        "President {last} met {per} in {city} to discuss trade .",
        "The {party} won 41 % of the vote in {country} 's general election .",
        "{per} , leader of the {party} , called for an early election .",
        "Prime Minister {last} arrived in {city} on a two ~- ~day visit .",
        "Lawmakers in {country} approved the budget by a narrow margin .",
        "The {nat} foreign minister , {per} , said talks with {country} had stalled .",
        "Senator {last} of the {party} voted against the bill .",
        "{country} and {country} signed a new border agreement on Monday .",
        "The {agency} urged both sides to return to the table in {city} .",
        "Opposition leader {per} accused the government of ignoring rural voters .",
        "Protesters gathered outside parliament in {city} on Sunday .",
        "{per} will replace {last} as minister of finance .",
        "The {party} lost its majority in the regional assembly .",
        "Ambassador {last} was summoned to the foreign ministry in {city} .",
        "Voters in {city} will choose a new mayor in November .",
    ],
    "travel": [
        "We took the night train from {city} to {city} and arrived before dawn .",
        "The view from the top of {mountain} is worth the long climb .",
        "Our hotel was on {street} , a short walk from the old harbour .",
        "Boat trips along the {river} leave every hour in summer .",
        "{city} is cheaper to visit in October than in August .",
        "Most signs in the old town are written in {lang} and English .",
        "{company} added a daily flight between {city} and {city} .",
        "The guide , {per} , grew up in a village near {city} .",
        "Flights from {city} to {country} were delayed by fog .",
        "The market on {street} opens at six every Saturday morning .",
        "If you visit {country} , try the street food in {city} .",
        "We hired bikes and rode along the {river} for two days .",
        "The museum in {city} has a new wing devoted to {nat} painters .",
        "Hikers should carry water on the trail up {mountain} .",
        "The cafe on {street} serves the best coffee in {city} .",
    ],
    "science": [
        "Researchers at {univ} have built a cheaper sensor for measuring air quality .",
        "{per} of {univ} led the study , which was published on Wednesday .",
        "The {agency} plans to launch the satellite from {country} next spring .",
        "A team from {univ} found a new species of frog in {country} .",
        "Dr. {last} said the results needed to be confirmed by other labs .",
        "{per} won the {prize} for her work on protein folding .",
        "Scientists measured rising water temperatures in the {river} .",
        "The {agency} reported 300 new cases of the virus in {city} .",
        "Professor {last} of {univ} will give the opening lecture .",
        "Engineers at {company} and {univ} tested the battery in cold weather .",
        "Glaciers on {mountain} have shrunk by a third since 1980 .",
        "{per} , a {nat} chemist , shared the {prize} with two colleagues .",
        "The study , funded by {company} , followed 4,000 patients in {country} .",
        "Students at {univ} can now take courses in {lang} .",
    ],
    "social": [
        "just landed in {city|lower} and it 's raining again lol",
        "no way {club|lower} lost {score} smh",
        "who 's watching the {event} tonight ? ! ?",
        "my new {product} died after two days ... thanks {company}",
        "{per|lower} is honestly the best player in the league",
        "traffic on {street|lower} is a nightmare this morning",
        "anyone know a good pizza place near {street} ?",
        "{city} you were amazing tonight ! ! see you next year",
        "learning {lang|lower} on the train every day , 40 days streak",
        "huge congrats to {per} on the new job at {company} !",
        "ok {company|lower} customer service is actually great today",
        "rt if you 're going to the {event} in {city}",
        "missing {country|lower} so much rn",
        "#{club} till i die",
        "lol {last|lower} really said that on live tv",
    ],
}

# Sentences with fixed entities.  Many contrast the same name used as a
# person in one sentence and as a place or organisation in another.
# Each fixed sentence is used exactly once (some in train, some in dev).
FIXED = {
    "politics": [
        "President [Roosevelt|PER] addressed [Congress|ORG] on the second day of the crisis .",
        "[Franklin Roosevelt|PER] was elected four times .",
        "[George Washington|PER] crossed the river on a cold December night .",
        "[Washington|LOC] and [Beijing|LOC] agreed to hold further talks .",
        "[Abraham Lincoln|PER] gave a short speech that is still quoted today .",
        "[Lincoln|PER] was born in a log cabin in [Kentucky|LOC] .",
        "[Andrew Jackson|PER] is on the twenty dollar bill .",
        "The governor flew to [Jackson|LOC] , [Mississippi|LOC] , to meet farmers .",
        "[John Adams|PER] wrote hundreds of letters to his wife .",
        "[Churchill|PER] spoke to the nation on the radio that evening .",
        "[King Hussein|PER] of [Jordan|LOC] welcomed the delegation .",
        "[Jordan|LOC] reopened its border crossing on Tuesday .",
        "[James Madison|PER] helped draft the constitution .",
        "President [Kennedy|PER] visited [Berlin|LOC] in 1963 .",
        "The [Duke of Wellington|PER] defeated [Napoleon|PER] at [Waterloo|LOC] .",
        "[Roosevelt|PER] and [Churchill|PER] met on a ship off [Newfoundland|LOC] .",
        "The [U.S.|LOC] and [Canada|LOC] share the longest border in the world .",
        "[Washington|PER] refused to serve a third term .",
        "Lawmakers in [Washington|LOC] could not agree on the budget .",
        "[Marshall|PER] announced the aid plan in a speech at [Harvard|ORG] .",
        "The [Marshall Islands|LOC] are made up of 29 atolls .",
        "[Georgia|LOC] held local elections on Saturday .",
        "[Georgia Mills|PER] was elected to the city council in [Atlanta|LOC] .",
    ],
    "news": [
        "She rented a flat on [Roosevelt Street|LOC] in [Manhattan|LOC] .",
        "A water main burst under [Roosevelt Avenue|LOC] early on Friday .",
        "The [Roosevelt Hotel|LOC] will close for repairs in January .",
        "The concert at [Lincoln Center|LOC] was sold out in an hour .",
        "[Lincoln|LOC] is the capital of [Nebraska|LOC] .",
        "Flights to [Kennedy Airport|LOC] were delayed by snow .",
        "The [Hudson River|LOC] froze near [Albany|LOC] for the first time in years .",
        "Floods hit [Houston|LOC] for the second time this summer .",
        "Fans lined up outside [Madison Square Garden|LOC] before dawn .",
        "[Madison|LOC] is known for its lakes and bike paths .",
        "The new bridge in [Wellington|LOC] opened on Monday .",
        "The statue of [Nelson|PER] still stands in the square .",
        "[Nelson|LOC] is a small city at the top of the [South Island|LOC] .",
        "Nothing happened in the village for weeks .",
        "The meeting was postponed until further notice .",
        "It rained all day and the roads were closed .",
        "Tickets go on sale at nine o'clock tomorrow morning .",
        "Several shops on the high street closed last year .",
        "Heavy traffic is expected over the holiday weekend .",
        "[Victoria|LOC] is the capital of [British Columbia|LOC] .",
        "Queen [Victoria|PER] ruled for more than sixty years .",
        "Boats on [Lake Victoria|LOC] were ordered to stay in port .",
    ],
    "business": [
        "[Henry Ford|PER] built his first car in a small shed .",
        "[Ford|ORG] said it would build electric trucks in [Kentucky|LOC] .",
        "[Harrison Ford|PER] arrived late to the premiere .",
        "[Michael Dell|PER] started the company in his college dorm room .",
        "[Dell|ORG] reported lower sales of laptops in [Europe|LOC] .",
        "[Walt Disney|PER] drew the first sketches in 1928 .",
        "[Disney|ORG] will raise ticket prices at its parks .",
        "[Nikola Tesla|PER] died in a hotel room in [New York|LOC] .",
        "[Tesla|ORG] cut the price of its cheapest car again .",
        "[Enzo Ferrari|PER] founded the racing team in [Modena|LOC] .",
        "[Ferrari|ORG] sold more cars than ever last year .",
        "[Amazon|ORG] opened a warehouse outside [Dublin|LOC] .",
        "Logging along the [Amazon|LOC] has slowed , the report said .",
        "[Morgan Stanley|ORG] raised its forecast for oil prices .",
        "[Morgan Freeman|PER] narrated the documentary .",
        "[J.P. Morgan|PER] bailed out the banks in 1907 .",
        "[Mercedes Ruiz|PER] joined the bank as head of trading .",
        "[Mercedes|ORG] unveiled a new van at the show in [Geneva|LOC] .",
        "Prices were flat and trading was quiet .",
        "The company did n't comment on the report .",
        "[Columbia|ORG] and [Stanford|ORG] will share the grant .",
        "Salmon returned to the [Columbia River|LOC] in large numbers .",
    ],
    "sport": [
        "[Michael Jordan|PER] won six titles with the [Chicago Bulls|ORG] .",
        "[Jordan|PER] scored 38 points in the final game .",
        "[Chelsea|ORG] beat [Arsenal|ORG] 2 ~- ~1 at [Stamford Bridge|LOC] .",
        "[Chelsea Barnes|PER] won the 200 metres in a personal best .",
        "The marathon started in [Chelsea|LOC] and finished by the river .",
        "[Houston|ORG] won the series in seven games .",
        "[Florence Griffith|PER] set the record in 1988 .",
        "[Fiorentina|ORG] lost at home in [Florence|LOC] on Sunday .",
        "[Sydney Carter|PER] signed for the club on a free transfer .",
        "[Sydney|LOC] will host the final next year .",
        "[Austin Reed|PER] hit a home run in the ninth inning .",
        "The race in [Austin|LOC] was stopped because of rain .",
        "[Paris Delaney|PER] won the junior title at [Wimbledon|MISC] .",
        "[Paris|LOC] hosted the [Olympic Games|MISC] in 2024 .",
        "[Jackson|PER] was injured in the first minute .",
        "Nobody scored in the first half .",
        "The game was called off because of a frozen pitch .",
    ],
    "science": [
        "[Florence Nightingale|PER] collected data on deaths in army hospitals .",
        "[Florence|LOC] has more than forty museums .",
        "[Darwin|PER] sailed around the world on a small ship .",
        "[Darwin|LOC] recorded its hottest night since records began .",
        "[Hubble|PER] showed that the universe is expanding .",
        "The [Hubble|MISC] telescope took the picture in 1995 .",
        "[Edison|PER] held more than a thousand patents .",
        "The experiment took three years and failed twice .",
        "[Kepler|PER] worked out the laws of planetary motion .",
        "[Kepler|LOC] crater is easy to see with binoculars .",
    ],
    "social": [
        "omg [harrison ford|PER] is in my coffee shop right now",
        "moving to [washington|LOC] next month , any tips ?",
        "just finished a doc about [washington|PER] and the revolution",
        "[jordan|PER] > [lebron|PER] and it 's not close",
        "backpacking through [jordan|LOC] was the best trip of my life",
        "stuck on [lincoln avenue|LOC] for an hour",
        "watching a movie about [lincoln|PER] with my dad",
        "my [ford|ORG] broke down again lol",
        "good morning !",
        "this is fine .",
        "new job , new city , new me",
        "anyone else awake ?",
    ],
}

# Hand-written raw lines for texts.txt (one document per line).
RAW_TEXTS = [
    "President Roosevelt spoke to the nation by radio on Sunday evening. Later that week a small crowd gathered on Roosevelt Street in Manhattan to listen to a recording of the speech.",
    "Eleanor Roosevelt visited the hospital in the morning. In the afternoon she had tea at a small cafe on Roosevelt Avenue.",
    "George Washington led the army through a hard winter. Today tourists in Washington can visit a museum about his life.",
    "Denzel Washington flew to Washington on Tuesday for the premiere of his new film.",
    "Michael Jordan played golf in Jordan during a short holiday. He said the people of Amman were very kind.",
    "Henry Ford opened his first factory in Detroit. A century later Ford still builds trucks in Michigan.",
    "Abraham Lincoln was born in Kentucky. The orchestra at Lincoln Center played a piece written in his honour.",
    "The protest moved from Lincoln Avenue to the town hall, where Mayor Lincoln Hayes came out to speak.",
    "Queen Victoria opened the bridge in 1887. Today buses run from Victoria Station to the bridge every ten minutes.",
    "Florence Nightingale trained as a nurse in Germany. Many years later a hospital in Florence was named after her.",
    "Georgia Mills grew up in Tbilisi, the capital of Georgia, before moving to Atlanta to study law.",
    "Whitney Houston recorded the song in New York. The video was filmed in Houston a month later.",
    "Michael Dell said Dell would hire 500 engineers in Austin, where Austin Reed runs the local office.",
    "Chelsea Barnes, a lifelong Chelsea fan, bought a flat in Chelsea last spring.",
    "Sydney Carter moved from Sydney to Lisbon to join Sporting Lumiar.",
    "Walt Disney drew the mouse in a small studio. Disney now owns several theme parks in Asia.",
    "Nikola Tesla worked for Edison for a short time. Tesla shares rose 5% after the car maker reported record sales.",
    "The Duke of Wellington won the battle in 1815. Wellington, the capital of New Zealand, is named after him.",
    "Senator Kennedy gave a speech at Kennedy Airport before flying to Dublin.",
    "James Madison wrote most of the bill of rights. The concert at Madison Square Garden was sold out in minutes.",
    "Admiral Nelson died at sea. Tourists in Nelson, New Zealand, often ask about the name of their town.",
    "Paris Delaney, a tennis player from Melbourne, won her first match in Paris on Monday.",
    "Andrew Jackson was the seventh president. The state capital, Jackson, was named after him.",
    "John Adams and his wife wrote to each other for years. The letters are kept in a library on Adams Street.",
    "Mercedes Ruiz, head of sales at Mercedes, unveiled the new van in Geneva.",
    "Enzo Ferrari started as a racing driver. Ferrari now sells cars in more than sixty countries.",
    "Morgan Freeman visited the offices of Morgan Stanley in New York for a charity event.",
    "Darwin arrived in the Galapagos in 1835. The city of Darwin in Australia was named after him.",
    "The Hudson River flooded several roads. Kate Hudson posted photos of the water from her hotel window.",
    "Harrison Ford was spotted buying coffee on Ford Street in Brisbane.",
]
# Fill texts.txt up to this many lines with generated mini-documents.
N_TEXTS = 60

NO_SPACE_BEFORE = {",", ".", "!", "?", ";", ":", "'s", "n't", "%", ")", "...", "'re", "'m", "'ll", "'ve", "'d"}
NO_SPACE_AFTER = {"(", "$", "#"}

SLOT_RE = re.compile(r"\{(\w+)(\|lower)?\}|\[([^\]|]+)\|(\w+)\]|(\S+)")


def split_names(rng):
    """Return (train_lists, dev_lists): dev lists are the full lists, train
    lists leave out a held-back quarter of each list."""
    train, dev = {}, {}
    for slot, (label, names) in SLOTS.items():
        n_hold = max(1, int(len(names) * DEV_ONLY_FRACTION))
        train[slot] = names[:-n_hold]
        dev[slot] = list(names)
    return train, dev


def spans(tokens, label):
    """IOB2 tags for a multi-token entity."""
    return [(t, ("B-" if i == 0 else "I-") + label) for i, t in enumerate(tokens)]


def fill(template, rng, names):
    """Turn a template into a list of (token, tag, glue) triples."""
    out = []
    for m in SLOT_RE.finditer(template):
        slot, lower, ent_text, ent_label, word = m.groups()
        if slot == "score":
            a, b = rng.randint(0, 4), rng.randint(0, 3)
            out += [(str(a), "O", False), ("-", "O", True), (str(b), "O", True)]
        elif slot:
            label, _ = SLOTS[slot]
            name = rng.choice(names[slot])
            if lower:
                name = name.lower()
            out += [(t, g, False) for t, g in spans(name.split(), label)]
        elif ent_text:
            out += [(t, g, False) for t, g in spans(ent_text.split(), ent_label)]
        else:
            glue = word.startswith("~") and len(word) > 1
            tok = word[1:] if glue else word
            out.append((tok, "O", glue))
    return out


def fill_hash(template, rng, names):
    # A slot directly after "#" (e.g. "#{club}") becomes one hashtag token:
    # spaces inside the name are removed, e.g. "#RiversideUnited".
    m = re.search(r"#\{(\w+)\}", template)
    if not m:
        return fill(template, rng, names)
    label, _ = SLOTS[m.group(1)]
    name = "".join(rng.choice(names[m.group(1)]).split())
    before, after = template[: m.start()], template[m.end():]
    return fill(before, rng, names) + [("#", "O", False), (name, "B-" + label, True)] + fill(after, rng, names)


def detokenize(triples):
    text = ""
    prev = None
    for tok, _, glue in triples:
        if prev is not None and not glue and tok not in NO_SPACE_BEFORE and prev not in NO_SPACE_AFTER:
            text += " "
        text += tok
        prev = tok
    return text


def make_split(rng, names, templates, fixed, target, exclude):
    """Generate `target` sentences (including the given fixed ones), grouped
    by genre into documents of 5-10 sentences."""
    by_genre = collections.defaultdict(list)
    seen = set(exclude)
    for genre, sents in fixed.items():
        for s in sents:
            trip = fill(s, rng, names)
            seen.add(detokenize(trip))
            by_genre[genre].append(trip)
    pool = [(g, t) for g, ts in templates.items() for t in ts]
    n = sum(len(v) for v in by_genre.values())
    attempts = 0
    while n < target and attempts < target * 50:
        attempts += 1
        genre, tpl = rng.choice(pool)
        trip = fill_hash(tpl, rng, names)
        text = detokenize(trip)
        if text in seen:
            continue
        seen.add(text)
        by_genre[genre].append(trip)
        n += 1
    docs = []
    for genre in sorted(by_genre):
        sents = by_genre[genre]
        rng.shuffle(sents)
        i = 0
        while i < len(sents):
            k = rng.randint(5, 10)
            if len(sents) - (i + k) < 5:  # avoid a tiny last document
                k = len(sents) - i
            docs.append(sents[i:i + k])
            i += k
    rng.shuffle(docs)
    return docs, seen


def write_iob(path, docs):
    with open(path, "w", encoding="utf8") as f:
        for doc in docs:
            f.write("-DOCSTART- O\n\n")
            for sent in doc:
                for tok, tag, _ in sent:
                    f.write(f"{tok} {tag}\n")
                f.write("\n")


def stats(docs):
    n_sent = sum(len(d) for d in docs)
    n_tok = sum(len(s) for d in docs for s in d)
    ents = collections.Counter(tag[2:] for d in docs for s in d for _, tag, _ in s if tag.startswith("B-"))
    return n_sent, n_tok, ents


def main():
    rng = random.Random(SEED)
    train_names, dev_names = split_names(rng)
    # Every 5th fixed sentence of each genre goes to dev, the rest to train.
    fixed_train = {g: [s for i, s in enumerate(v) if i % 5 != 2] for g, v in FIXED.items()}
    fixed_dev = {g: [s for i, s in enumerate(v) if i % 5 == 2] for g, v in FIXED.items()}
    train_docs, train_seen = make_split(rng, train_names, TEMPLATES, fixed_train, 420, set())
    dev_docs, _ = make_split(rng, dev_names, TEMPLATES, fixed_dev, 105, train_seen)
    write_iob(os.path.join(HERE, "train.iob"), train_docs)
    write_iob(os.path.join(HERE, "dev.iob"), dev_docs)

    # texts.txt: hand-written contrast lines plus generated 2-3 sentence docs.
    lines = list(RAW_TEXTS)
    genres = sorted(g for g in TEMPLATES if g != "social")
    while len(lines) < N_TEXTS:
        tpls = TEMPLATES[rng.choice(genres)]
        k = rng.randint(2, 3)
        lines.append(" ".join(detokenize(fill(rng.choice(tpls), rng, dev_names)) for _ in range(k)))
    with open(os.path.join(HERE, "texts.txt"), "w", encoding="utf8") as f:
        f.write("\n".join(lines) + "\n")

    for name, docs in (("train.iob", train_docs), ("dev.iob", dev_docs)):
        n_sent, n_tok, ents = stats(docs)
        per_label = ", ".join(f"{lab} {ents[lab]}" for lab in LABELS)
        print(f"{name}: {len(docs)} docs, {n_sent} sentences, {n_tok} tokens, "
              f"{sum(ents.values())} entities ({per_label})")
    print(f"texts.txt: {len(lines)} lines")
    if "--check" in sys.argv:
        check(train_docs + dev_docs)


def check(docs):
    """Optional (needs spaCy): the detokenised text of every sentence must be
    split by spacy.blank("en") into exactly the annotated tokens."""
    import spacy

    nlp = spacy.blank("en")
    bad = 0
    for doc in docs:
        for sent in doc:
            want = [t for t, _, _ in sent]
            got = [t.text for t in nlp(detokenize(sent))]
            if got != want:
                bad += 1
                print("MISMATCH:", want, got)
    print(f"spaCy tokenisation check: {bad} mismatching sentences")
    if bad:
        sys.exit(1)


if __name__ == "__main__":
    main()
