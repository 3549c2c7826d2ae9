"""Small word lists the demo data is made from (no Faker: a seed must give the same site)."""

from __future__ import annotations

FIRST_NAMES = """
Ana Bruno Chiara Dmitri Elif Farah Gustavo Hana Ines Jonas Kofi Lena Mateo Nadia Oskar Priya
Quentin Rosa Sami Tomas Uma Viktor Wen Ximena Yusuf Zoe Aiko Bilal Carmen Dario Emeka Freya
Goran Helga Ivan Jia Kamal Lucia Malik Nora Omar Paula Ravi Sofia Tariq Ursula Valentin Wanda
Yara Zane Amara Bjorn Celine Diego Esra Felix Greta Hugo Isla Joao Keiko Leon Mira Nico Olga
Pablo Rania Stefan Tuva Ugo Vera Wiktor Yasmin Zofia Anouk Basil Clara Dev Elena Finn Gaia
""".split()

LAST_NAMES = """
Costa Novak Rossi Okafor Yilmaz Haddad Pereira Tanaka Moreau Berg Mensah Fischer Alvarez Petrov
Lindqvist Sharma Dubois Romano Kowalski Nakamura Silva Jensen Adeyemi Horvat Castillo Ivanova
Larsen Mendes Kim Weber Nguyen Popescu Ferreira Sato Hansen Moretti Osei Bakker Ortiz Varga
Keller Chen Rahman Lopez Nilsson Marin Takahashi Vogel Andersen Kaya Santos Richter Hoffmann
Gallo Dimitrov Suzuki Eriksen Navarro Janssen Ali Lambert Svoboda Fontaine Ibrahim Koch Pires
""".split()

# (place, latitude, longitude): the location on profiles and the GPS written into some sources.
PLACES: list[tuple[str, float, float]] = [
    ("Lisbon, Portugal", 38.722, -9.139),
    ("Porto, Portugal", 41.157, -8.629),
    ("Reykjavik, Iceland", 64.146, -21.942),
    ("Kyoto, Japan", 35.011, 135.768),
    ("Valparaíso, Chile", -33.047, -71.612),
    ("Marrakesh, Morocco", 31.629, -7.981),
    ("Tromsø, Norway", 69.649, 18.955),
    ("Hoi An, Vietnam", 15.880, 108.338),
    ("Oaxaca, Mexico", 17.073, -96.726),
    ("Tbilisi, Georgia", 41.715, 44.827),
    ("Cape Town, South Africa", -33.925, 18.424),
    ("Hobart, Australia", -42.882, 147.327),
    ("Ljubljana, Slovenia", 46.056, 14.506),
    ("Montréal, Canada", 45.502, -73.567),
    ("Istanbul, Türkiye", 41.008, 28.978),
    ("Naples, Italy", 40.852, 14.268),
    ("Edinburgh, Scotland", 55.953, -3.188),
    ("Seville, Spain", 37.389, -5.984),
    ("Kraków, Poland", 50.065, 19.945),
    ("Accra, Ghana", 5.604, -0.187),
    ("Hamburg, Germany", 53.551, 9.994),
    ("Bergen, Norway", 60.391, 5.322),
    ("Cusco, Peru", -13.532, -71.967),
    ("Jaipur, India", 26.912, 75.787),
    ("Busan, South Korea", 35.180, 129.076),
    ("Wellington, New Zealand", -41.287, 174.776),
    ("Zanzibar, Tanzania", -6.165, 39.202),
    ("Quebec City, Canada", 46.813, -71.208),
    ("Hanoi, Vietnam", 21.028, 105.834),
    ("Copenhagen, Denmark", 55.676, 12.568),
    ("Dubrovnik, Croatia", 42.651, 18.094),
    ("Santa Fe, USA", 35.687, -105.938),
    ("Chefchaouen, Morocco", 35.171, -5.270),
    ("Galway, Ireland", 53.271, -9.057),
    ("Sapporo, Japan", 43.062, 141.354),
    ("Salvador, Brazil", -12.971, -38.501),
    ("Tallinn, Estonia", 59.437, 24.754),
    ("Bruges, Belgium", 51.209, 3.225),
    ("Luang Prabang, Laos", 19.886, 102.135),
    ("Mendoza, Argentina", -32.889, -68.845),
]

BIO_TEMPLATES = [
    "Chasing {light} in {city}.",
    "{Job} by day, {hobby} by night.",
    "Mostly {subject}, sometimes {subject2}. Film and digital.",
    "Somewhere between {city} and the next train.",
    "I photograph {subject} so I remember it.",
    "{Job}. Collector of {subject} and {subject2}.",
    "Shooting {subject} on an old prime lens.",
    "Walking {city} one street at a time.",
    "Learning to see. Here for {subject}.",
    "Amateur with too many lenses. {City}.",
    "Quiet {subject}, loud colours.",
    "Weekend {hobby}, full-time {subject} enthusiast.",
    "Notes from {city}: {subject}, {subject2}, coffee.",
    "{Job} who never leaves home without a camera.",
]

JOBS = """
nurse teacher architect baker translator engineer librarian gardener cartographer chemist
carpenter editor pilot designer barista beekeeper surveyor illustrator
""".split()

HOBBIES = "hiker swimmer cyclist climber sailor runner birder stargazer surfer skater".split()

LIGHTS = "golden hour|blue hour|morning fog|late light|winter sun|storm light|neon".split("|")

SUBJECTS = """
rooftops harbours markets doorways staircases bicycles street corners shadows reflections
mountains bridges trams lighthouses cafés gardens windows alleys rivers clouds tiles
""".split()

# Words that make a plausible tag on their own.
TAG_WORDS = """
sunset sunrise street portrait landscape architecture travel nature city night blackandwhite
film analog macro minimal abstract urban coast ocean beach mountain forest autumn winter spring
summer rain fog snow clouds sky bridge river lake harbour boat tram train station market food
coffee bicycle cat dog bird flowers garden window door stairs shadow light reflection colour
texture pattern geometry symmetry silhouette skyline rooftop alley graffiti mural neon bokeh
longexposure golden bluehour stars moon desert island village castle church museum library
festival music dance people hands faces kids family wedding friends selfie documentary
candid everyday morning evening midnight weekend holiday roadtrip hiking camping sailing
surfing skate wildlife insects leaves trees meadow field farm vineyard orchard tiles
concrete glass steel wood stone brick ruins lighthouse pier market_day old_town
""".split()

ADJECTIVES = """
quiet golden misty bright faded salty windy hidden early late lazy rainy frozen electric
soft wild lonely crowded narrow open rusty painted sleepy distant warm cold amber silver
""".split()

NOUNS = """
harbour street corner window garden rooftop market bridge tram beach alley river staircase
doorway lighthouse pier field forest meadow square station courtyard balcony hill valley
""".split()

CAPTIONS = [
    "{Adjective} {noun} in {place}.",
    "Found this {noun} on a {adjective} afternoon.",
    "Back to the same {noun} every week; it is never the same twice.",
    "{Place}, just before the light went.",
    "Nobody around: the {adjective} {noun}.",
    "Tried a new angle on the old {noun}.",
    "Walked past this {noun} for years before I looked up.",
    "The {noun} after the rain. {Place}.",
    "Straight out of camera, no edits.",
    "From the archive: {adjective} days in {place}.",
    "Testing a borrowed lens on the {noun}.",
    "Ten minutes of {adjective} light, and then it was gone.",
    "Colours of {place}.",
    "Waiting for the {noun} to empty out. Worth it.",
    "Some {adjective} geometry from {place}.",
    "",
]

COMMENTS = [
    "Love the colours in this one.",
    "The light here is wonderful.",
    "What lens did you use?",
    "This is my favourite of your recent shots.",
    "Great composition, the lines pull me right in.",
    "I was there last summer, you caught it perfectly.",
    "So calm. I could look at this for a while.",
    "Beautiful tones.",
    "That gradient in the sky!",
    "Is this straight out of camera?",
    "The shapes work really well together.",
    "Stunning. Would love to see it printed.",
    "Such a good eye for detail.",
    "This makes me want to travel again.",
    "Perfect timing.",
    "The contrast is spot on.",
    "Nice and minimal, well done.",
    "How early did you have to get up for this?",
    "This deserves more attention.",
    "Really moody, I like it.",
    "The balance between the two colours is lovely.",
    "Wow, what a place.",
    "I keep coming back to this one.",
    "Brilliant framing.",
]

REPLIES = [
    "Thank you, that means a lot!",
    "Thanks! A 35 mm, nothing fancy.",
    "Agreed, it is even better in person.",
    "Ha, very early. Worth it though.",
    "Thanks! No edits apart from a small crop.",
    "Good question, I would like to know too.",
    "Same here, it was a lucky moment.",
    "Glad you like it!",
    "You should go, the mornings are magic.",
    "Thank you, I was not sure about this one.",
    "Right? The light did all the work.",
    "Absolutely, the colours are unreal.",
]

REPORT_NOTES = {
    "spam": ["Same photo posted by many new accounts.", "Links to a shop in every comment.", "Looks like an ad."],
    "nudity": ["Not suitable for the front page.", "Should at least be followers only."],
    "harassment": [
        "Rude comments aimed at one person.",
        "Keeps replying to insult people.",
        "Targets me in every thread.",
    ],
    "copyright": [
        "This is my photo, posted without permission.",
        "Taken from a magazine cover.",
        "Stock photo with the watermark cropped.",
    ],
    "other": ["Misleading description.", "Posted in the wrong place?", "Please take a look."],
}
