"""Catalogue of the demo shop, « Épicerie-Boulangerie du Marché ».

Pure data: no database access and no import from the rest of ``kiosk``, so that the
demo seeding code, the tests and the screenshots can all share the same believable
village shop.  Everything is deterministic: references and EAN-13 barcodes are derived
from the category position and the rank of the article inside its category.

Conventions
-----------
* ``price_cents`` is the price including VAT (TTC), in euro cents.  For articles
  ``sold_by_weight`` it is the price per kilogram.
* ``vat_bp`` is the VAT rate in basis points: 550 (5,5 %), 1000 (10 %), 2000 (20 %)
  or 210 (2,1 %).
* Bread, pastries and take-away food made on site, and everything sold by weight, have
  no barcode (``None``): they are keyed in from the favourites or by reference.  Every
  other article carries a unique, valid EAN-13 in the GS1 France range (``3760…``).
"""

from __future__ import annotations

from dataclasses import dataclass

from stdnum import ean

__all__ = [
    "ARTICLES",
    "CATEGORIES",
    "CATEGORY_FLAGS",
    "VAT_RATES_BP",
    "SHOP_NAME",
    "DemoArticle",
    "DemoCategory",
]

SHOP_NAME = "Épicerie-Boulangerie du Marché"

#: French VAT rates used by the shop, in basis points.
VAT_RATES_BP: frozenset[int] = frozenset({550, 1000, 2000, 210})

#: Allowed category flags.
#: ``meal_voucher``: food payable with titres-restaurant;
#: ``no_loyalty``: excluded from loyalty points (press, tobacco, games);
#: ``book``: books (prix unique du livre, discount capped at 5 %);
#: ``alcohol``: no loyalty unless the shop allows it (``loyalty.alcohol_earns``).
CATEGORY_FLAGS: frozenset[str] = frozenset({"meal_voucher", "no_loyalty", "book", "alcohol"})


@dataclass(frozen=True)
class DemoCategory:
    key: str
    name: str
    color: str
    position: int
    flags: frozenset[str]


@dataclass(frozen=True)
class DemoArticle:
    reference: str
    name: str
    category: str
    vat_bp: int
    price_cents: int
    barcode: str | None
    sold_by_weight: bool
    favourite: bool


_FOOD = frozenset({"meal_voucher"})

# (key, name, colour, reference prefix, flags) — position is the index in this tuple + 1.
_CATEGORY_ROWS: tuple[tuple[str, str, str, str, frozenset[str]], ...] = (
    ("boulangerie", "Boulangerie", "#c8a165", "BOUL", _FOOD),
    ("viennoiserie", "Viennoiserie", "#e0b25c", "VIEN", _FOOD),
    ("patisserie", "Pâtisserie", "#d98c9f", "PATI", _FOOD),
    ("traiteur", "Traiteur et snacking", "#b5653a", "TRAI", _FOOD),
    ("epicerie_salee", "Épicerie salée", "#8c7a5b", "EPSA", _FOOD),
    ("epicerie_sucree", "Épicerie sucrée", "#c06c84", "EPSU", _FOOD),
    ("cremerie", "Crèmerie-fromages", "#f2d680", "CREM", _FOOD),
    ("fruits_legumes", "Fruits et légumes", "#6aa84f", "FRLE", _FOOD),
    ("boissons", "Boissons", "#4a90c2", "BOIS", _FOOD),
    ("vins_bieres", "Vins et bières", "#7b2d43", "VINS", frozenset({"alcohol"})),
    ("presse", "Presse", "#5f6b7a", "PRES", frozenset({"no_loyalty"})),
    ("hygiene", "Hygiène-droguerie", "#7fb8b0", "HYGI", frozenset()),
    ("livres", "Livres", "#8e6fb5", "LIVR", frozenset({"book"})),
)

CATEGORIES: tuple[DemoCategory, ...] = tuple(
    DemoCategory(key=key, name=name, color=color, position=index, flags=flags)
    for index, (key, name, color, _prefix, flags) in enumerate(_CATEGORY_ROWS, start=1)
)

# Article rows: (name, price TTC in cents, VAT in basis points, options).
# Options: "F" favourite, "C" made on site / sold at the counter (no barcode),
# "W" sold by weight (price per kg, no barcode).
_Row = tuple[str, int, int, str]

_ARTICLE_ROWS: dict[str, tuple[_Row, ...]] = {
    "boulangerie": (
        ("Baguette tradition", 140, 550, "FC"),
        ("Baguette", 115, 550, "FC"),
        ("Demi-baguette", 65, 550, "FC"),
        ("Ficelle", 90, 550, "C"),
        ("Baguette aux céréales", 170, 550, "C"),
        ("Pain de campagne 400 g", 290, 550, "FC"),
        ("Boule de campagne 800 g", 460, 550, "C"),
        ("Pain complet 400 g", 280, 550, "C"),
        ("Pain aux céréales 400 g", 320, 550, "C"),
        ("Pain de seigle 400 g", 310, 550, "C"),
        ("Pain d'épeautre 400 g", 390, 550, "C"),
        ("Pain sans sel 400 g", 270, 550, "C"),
        ("Pain aux noix 300 g", 360, 550, "C"),
        ("Pain aux figues 300 g", 380, 550, "C"),
        ("Pain viennois", 160, 550, "C"),
        ("Petit pain individuel", 50, 550, "C"),
        ("Fougasse aux olives", 350, 550, "C"),
        ("Pain au levain à la coupe", 750, 550, "W"),
        ("Pain de mie nature 500 g", 240, 550, ""),
        ("Pain de mie complet 500 g", 260, 550, ""),
    ),
    "viennoiserie": (
        ("Croissant pur beurre", 125, 550, "FC"),
        ("Pain au chocolat", 135, 550, "FC"),
        ("Pain aux raisins", 160, 550, "FC"),
        ("Chausson aux pommes", 170, 550, "FC"),
        ("Croissant aux amandes", 230, 550, "C"),
        ("Brioche tressée 400 g", 520, 550, "C"),
        ("Brioche individuelle", 120, 550, "C"),
        ("Brioche au sucre perlé", 140, 550, "C"),
        ("Pain au lait", 70, 550, "C"),
        ("Chouquettes (les 10)", 250, 550, "C"),
        ("Palmier", 180, 550, "C"),
        ("Suisse aux pépites de chocolat", 190, 550, "C"),
        ("Torsade au chocolat", 180, 550, "C"),
        ("Kouign-amann individuel", 260, 550, "C"),
        ("Pains au lait x 10 (sachet)", 260, 550, ""),
    ),
    "patisserie": (
        ("Éclair au chocolat", 290, 550, "FC"),
        ("Éclair au café", 290, 550, "C"),
        ("Flan pâtissier (part)", 260, 550, "FC"),
        ("Tarte aux pommes (part)", 280, 550, "C"),
        ("Tarte au citron meringuée (part)", 340, 550, "C"),
        ("Tartelette aux fraises", 390, 550, "C"),
        ("Millefeuille", 350, 550, "C"),
        ("Paris-Brest", 420, 550, "C"),
        ("Religieuse au chocolat", 360, 550, "C"),
        ("Opéra", 390, 550, "C"),
        ("Fraisier (part)", 420, 550, "C"),
        ("Far breton (part)", 250, 550, "C"),
        ("Cannelé bordelais", 160, 550, "C"),
        ("Financier", 130, 550, "C"),
        ("Macaron (pièce)", 140, 550, "C"),
        ("Tarte aux pommes 6 parts", 1590, 550, "C"),
        ("Galette des rois frangipane 6 parts", 2200, 550, "C"),
        ("Madeleines pur beurre 250 g", 340, 550, ""),
    ),
    # Food and hot drinks prepared for immediate consumption: 10 %.
    "traiteur": (
        ("Café expresso à emporter", 160, 1000, "FC"),
        ("Café allongé à emporter", 180, 1000, "C"),
        ("Café crème à emporter", 240, 1000, "FC"),
        ("Chocolat chaud à emporter", 250, 1000, "C"),
        ("Thé à emporter", 200, 1000, "C"),
        ("Sandwich jambon-beurre", 420, 1000, "FC"),
        ("Sandwich jambon-emmental", 480, 1000, "C"),
        ("Sandwich poulet-crudités", 520, 1000, "C"),
        ("Sandwich thon-crudités", 500, 1000, "C"),
        ("Panini trois fromages", 550, 1000, "C"),
        ("Croque-monsieur", 420, 1000, "C"),
        ("Quiche lorraine (part)", 390, 1000, "FC"),
        ("Quiche saumon-poireaux (part)", 430, 1000, "C"),
        ("Pizza royale (part)", 380, 1000, "C"),
        ("Feuilleté saucisse", 260, 1000, "C"),
        ("Salade composée du jour", 690, 1000, "C"),
    ),
    "epicerie_salee": (
        ("Spaghetti n° 5 500 g", 145, 550, ""),
        ("Coquillettes 500 g", 135, 550, ""),
        ("Penne rigate 500 g", 145, 550, ""),
        ("Riz long grain 1 kg", 259, 550, ""),
        ("Riz basmati 500 g", 249, 550, ""),
        ("Lentilles vertes du Puy AOP 500 g", 390, 550, ""),
        ("Semoule de couscous moyenne 500 g", 159, 550, ""),
        ("Farine de blé T55 1 kg", 129, 550, ""),
        ("Huile d'olive vierge extra 75 cl", 990, 550, ""),
        ("Huile de tournesol 1 L", 249, 550, ""),
        ("Vinaigre de vin rouge 50 cl", 149, 550, ""),
        ("Moutarde de Dijon 210 g", 189, 550, ""),
        ("Mayonnaise de Dijon 235 g", 210, 550, ""),
        ("Gros sel de Guérande 1 kg", 320, 550, ""),
        ("Poivre noir moulu 50 g", 260, 550, ""),
        ("Sauce tomate au basilic 420 g", 220, 550, ""),
        ("Concentré de tomates 140 g", 110, 550, ""),
        ("Thon au naturel 140 g", 290, 550, ""),
        ("Sardines à l'huile d'olive 135 g", 270, 550, ""),
        ("Maquereaux au vin blanc 176 g", 250, 550, ""),
        ("Petits pois carottes 400 g", 195, 550, ""),
        ("Haricots verts extra-fins 400 g", 210, 550, ""),
        ("Cassoulet au confit de canard 840 g", 890, 550, ""),
        ("Raviolis pur bœuf 800 g", 320, 550, ""),
        ("Soupe de légumes du jardin 1 L", 290, 550, ""),
        ("Bouillon de volaille (8 cubes)", 160, 550, ""),
        ("Chips nature 150 g", 195, 550, ""),
        ("Cacahuètes grillées salées 200 g", 230, 550, ""),
        ("Olives vertes dénoyautées 150 g", 240, 550, ""),
        ("Cornichons extra-fins 360 g", 260, 550, ""),
        ("Rillettes du Mans 220 g", 360, 550, ""),
        ("Pâté de campagne 180 g", 240, 550, ""),
        ("Foie gras de canard entier 180 g", 2490, 550, ""),
        ("Jambon de Paris 4 tranches", 350, 550, ""),
        ("Lardons fumés 2 x 100 g", 260, 550, ""),
    ),
    # Plain chocolate tablets, biscuits and spreads: 5,5 %; confectionery: 20 %.
    "epicerie_sucree": (
        ("Sucre en poudre 1 kg", 145, 550, ""),
        ("Sucre en morceaux 1 kg", 195, 550, ""),
        ("Café moulu pur arabica 250 g", 450, 550, ""),
        ("Café en grains 1 kg", 1790, 550, ""),
        ("Capsules de café x 10", 320, 550, ""),
        ("Thé noir Earl Grey 25 sachets", 290, 550, ""),
        ("Infusion verveine 20 sachets", 220, 550, ""),
        ("Chocolat en poudre 450 g", 340, 550, ""),
        ("Confiture de fraises 370 g", 290, 550, ""),
        ("Confiture d'abricots 370 g", 290, 550, ""),
        ("Miel de fleurs 500 g", 690, 550, ""),
        ("Pâte à tartiner aux noisettes 400 g", 390, 550, ""),
        ("Crème de marrons de l'Ardèche 250 g", 320, 550, ""),
        ("Tablette chocolat noir 70 % 100 g", 220, 550, ""),
        ("Tablette chocolat au lait 100 g", 190, 550, ""),
        ("Chocolat noir pâtissier 200 g", 290, 550, ""),
        ("Petit-beurre 200 g", 170, 550, ""),
        ("Galettes bretonnes pur beurre 130 g", 230, 550, ""),
        ("Biscuits fourrés au chocolat 300 g", 240, 550, ""),
        ("Pain d'épices au miel 300 g", 340, 550, ""),
        ("Biscottes 36 tranches", 230, 550, ""),
        ("Muesli croustillant 500 g", 390, 550, ""),
        ("Flocons d'avoine 500 g", 190, 550, ""),
        ("Compote pomme nature 4 x 100 g", 220, 550, ""),
        ("Bonbons gélifiés 300 g", 250, 2000, ""),
        ("Caramels au beurre salé 150 g", 390, 2000, ""),
        ("Nougat de Montélimar 100 g", 450, 2000, ""),
        ("Calissons d'Aix 200 g", 1290, 2000, ""),
        ("Pastilles à la violette 50 g", 290, 2000, ""),
        ("Guimauves vanille-fraise 200 g", 240, 2000, ""),
        ("Rochers pralinés au chocolat x 8", 490, 2000, ""),
        ("Barre chocolatée au caramel 50 g", 120, 2000, ""),
        ("Chewing-gums menthe verte x 10", 150, 2000, ""),
    ),
    "cremerie": (
        ("Lait demi-écrémé UHT 1 L", 115, 550, "F"),
        ("Lait entier UHT 1 L", 135, 550, ""),
        ("Lait cru fermier 1 L", 160, 550, ""),
        ("Beurre doux 250 g", 290, 550, ""),
        ("Beurre demi-sel 250 g", 295, 550, ""),
        ("Crème fraîche épaisse 20 cl", 185, 550, ""),
        ("Crème liquide entière 20 cl", 140, 550, ""),
        ("Yaourts nature 4 x 125 g", 160, 550, ""),
        ("Yaourts brassés aux fruits 4 x 125 g", 210, 550, ""),
        ("Fromage blanc 3,2 % 500 g", 230, 550, ""),
        ("Œufs frais plein air x 6", 290, 550, ""),
        ("Œufs frais plein air x 12", 540, 550, ""),
        ("Camembert de Normandie AOP 250 g", 390, 550, ""),
        ("Brie de Meaux AOP 200 g", 420, 550, ""),
        ("Bûche de chèvre 180 g", 320, 550, ""),
        ("Crottin de Chavignol AOP 60 g", 260, 550, ""),
        ("Roquefort AOP 100 g", 340, 550, ""),
        ("Mozzarella 125 g", 140, 550, ""),
        ("Emmental râpé 200 g", 240, 550, ""),
        ("Comté AOP 18 mois", 2990, 550, "W"),
        ("Beaufort AOP", 3390, 550, "W"),
        ("Tomme de Savoie IGP", 1990, 550, "W"),
        ("Morbier AOP", 2150, 550, "W"),
        ("Saint-Nectaire fermier AOP", 2490, 550, "W"),
        ("Cantal entre-deux AOP", 2090, 550, "W"),
        ("Bleu d'Auvergne AOP", 1790, 550, "W"),
        ("Mimolette vieille", 2390, 550, "W"),
        ("Emmental de Savoie IGP", 1590, 550, "W"),
        ("Brie de Meaux AOP à la coupe", 2290, 550, "W"),
    ),
    "fruits_legumes": (
        ("Pommes Golden", 290, 550, "W"),
        ("Pommes Gala", 320, 550, "W"),
        ("Poires Conférence", 350, 550, "W"),
        ("Bananes", 230, 550, "W"),
        ("Oranges à jus", 260, 550, "W"),
        ("Clémentines", 350, 550, "W"),
        ("Citrons jaunes", 390, 550, "W"),
        ("Raisin blanc Italia", 450, 550, "W"),
        ("Tomates grappe", 390, 550, "W"),
        ("Carottes", 180, 550, "W"),
        ("Pommes de terre", 160, 550, "W"),
        ("Oignons jaunes", 220, 550, "W"),
        ("Échalotes", 590, 550, "W"),
        ("Courgettes", 290, 550, "W"),
        ("Poireaux", 280, 550, "W"),
        ("Haricots verts", 690, 550, "W"),
        ("Poivrons rouges", 490, 550, "W"),
        ("Aubergines", 350, 550, "W"),
        ("Endives", 390, 550, "W"),
        ("Fraises barquette 250 g", 350, 550, ""),
        ("Tomates cerises barquette 250 g", 260, 550, ""),
        ("Champignons de Paris barquette 250 g", 220, 550, ""),
        ("Pommes de terre filet 2,5 kg", 390, 550, ""),
        ("Salade laitue (pièce)", 130, 550, ""),
        ("Concombre (pièce)", 110, 550, ""),
        ("Avocat (pièce)", 120, 550, ""),
        ("Chou-fleur (pièce)", 290, 550, ""),
        ("Melon charentais (pièce)", 350, 550, ""),
        ("Ail blanc (tête)", 90, 550, ""),
        ("Persil plat (botte)", 120, 550, ""),
        ("Radis roses (botte)", 150, 550, ""),
    ),
    # Non-alcoholic drinks in closed containers: 5,5 %.
    "boissons": (
        ("Evian 50 cl", 110, 550, "F"),
        ("Evian 1,5 L", 120, 550, ""),
        ("Cristaline 1,5 L", 60, 550, "F"),
        ("Badoit 1 L", 130, 550, ""),
        ("Perrier 33 cl", 120, 550, ""),
        ("San Pellegrino 50 cl", 130, 550, ""),
        ("Coca-Cola 33 cl", 140, 550, "F"),
        ("Coca-Cola zéro 33 cl", 140, 550, ""),
        ("Coca-Cola 1,5 L", 260, 550, ""),
        ("Orangina 50 cl", 190, 550, "F"),
        ("Oasis tropical 50 cl", 180, 550, ""),
        ("Thé glacé pêche 50 cl", 180, 550, ""),
        ("Schweppes Indian Tonic 33 cl", 140, 550, ""),
        ("Limonade artisanale 75 cl", 240, 550, ""),
        ("Jus d'orange pur jus 1 L", 290, 550, ""),
        ("Jus de pomme artisanal 1 L", 340, 550, ""),
        ("Nectar d'abricot 1 L", 220, 550, ""),
        ("Sirop de menthe 75 cl", 320, 550, ""),
        ("Sirop de grenadine 75 cl", 320, 550, ""),
        ("Boisson énergisante 25 cl", 180, 550, ""),
        ("Lait fraise 20 cl", 90, 550, ""),
    ),
    "vins_bieres": (
        ("Côtes-du-Rhône rouge 75 cl", 790, 2000, ""),
        ("Bordeaux supérieur rouge 75 cl", 950, 2000, ""),
        ("Beaujolais-Villages 75 cl", 990, 2000, ""),
        ("Saint-Émilion grand cru 75 cl", 2490, 2000, ""),
        ("Chablis 75 cl", 1690, 2000, ""),
        ("Sancerre blanc 75 cl", 1750, 2000, ""),
        ("Muscadet sèvre-et-maine sur lie 75 cl", 850, 2000, ""),
        ("Côtes de Provence rosé 75 cl", 1090, 2000, ""),
        ("IGP Pays d'Oc rosé 75 cl", 590, 2000, ""),
        ("Crémant de Loire brut 75 cl", 1190, 2000, ""),
        ("Champagne brut 75 cl", 3290, 2000, ""),
        ("Cidre brut de Normandie 75 cl", 420, 2000, ""),
        ("Bière blonde 33 cl", 190, 2000, ""),
        ("Bière blonde pack 6 x 25 cl", 590, 2000, ""),
        ("Bière blanche 33 cl", 260, 2000, ""),
        ("Bière ambrée artisanale 33 cl", 340, 2000, ""),
        ("Bière IPA artisanale 33 cl", 360, 2000, ""),
        ("Pastis de Marseille 1 L", 2790, 2000, ""),
        ("Calvados Pays d'Auge 70 cl", 3290, 2000, ""),
        ("Crème de cassis de Dijon 50 cl", 1290, 2000, ""),
    ),
    # Press registered with the CPPAP: 2,1 %.
    "presse": (
        ("Le Parisien", 220, 210, "F"),
        ("Le Monde", 420, 210, "F"),
        ("Le Figaro", 320, 210, "F"),
        ("L'Équipe", 260, 210, "F"),
        ("Ouest-France", 150, 210, "F"),
        ("Libération", 300, 210, ""),
        ("Les Échos", 370, 210, ""),
        ("La Croix", 260, 210, ""),
        ("Le Canard enchaîné", 180, 210, ""),
        ("Le Point", 650, 210, ""),
        ("L'Obs", 650, 210, ""),
        ("Marianne", 490, 210, ""),
        ("Courrier international", 490, 210, ""),
        ("Paris Match", 390, 210, ""),
        ("Télé 7 Jours", 160, 210, ""),
        ("Télé Loisirs", 150, 210, ""),
        ("Femme Actuelle", 220, 210, ""),
        ("Le Journal de Mickey", 395, 210, ""),
        ("Auto Plus", 290, 210, ""),
    ),
    # Standard rate, except feminine hygiene protections (5,5 %).
    "hygiene": (
        ("Papier toilette 6 rouleaux", 390, 2000, ""),
        ("Essuie-tout 2 rouleaux", 260, 2000, ""),
        ("Mouchoirs en papier boîte de 90", 190, 2000, ""),
        ("Liquide vaisselle 500 ml", 220, 2000, ""),
        ("Lessive liquide 1,5 L", 890, 2000, ""),
        ("Éponges grattantes x 3", 190, 2000, ""),
        ("Sacs poubelle 30 L x 20", 250, 2000, ""),
        ("Savon de Marseille 300 g", 350, 2000, ""),
        ("Gel douche 250 ml", 260, 2000, ""),
        ("Shampooing 250 ml", 340, 2000, ""),
        ("Dentifrice 75 ml", 240, 2000, ""),
        ("Brosse à dents souple", 220, 2000, ""),
        ("Déodorant bille 50 ml", 320, 2000, ""),
        ("Rasoirs jetables x 5", 390, 2000, ""),
        ("Pansements assortis x 20", 320, 2000, ""),
        ("Piles alcalines AA x 4", 590, 2000, ""),
        ("Allumettes (boîte)", 120, 2000, ""),
        ("Serviettes hygiéniques x 14", 290, 550, ""),
    ),
    # Books: 5,5 %, prix unique du livre.
    "livres": (
        ("Le Petit Prince (poche)", 820, 550, ""),
        ("Fables de La Fontaine (poche)", 450, 550, ""),
        ("Le Comte de Monte-Cristo tome 1 (poche)", 950, 550, ""),
        ("Cuisine du terroir : 100 recettes", 1590, 550, ""),
        ("Guide des champignons de France", 1290, 550, ""),
        ("Histoire de notre village", 1800, 550, ""),
    ),
}

# GS1 France prefix 3760 + fictitious company digits; the last five digits before the
# check digit are the category position (2 digits) and the rank in the category (3 digits).
_BARCODE_STEM = "3760421"


def _barcode(position: int, rank: int) -> str:
    body = f"{_BARCODE_STEM}{position:02d}{rank:03d}"
    return body + ean.calc_check_digit(body)


def _build_articles() -> tuple[DemoArticle, ...]:
    articles: list[DemoArticle] = []
    for category, (key, _name, _color, prefix, _flags) in zip(CATEGORIES, _CATEGORY_ROWS, strict=True):
        for rank, (name, price_cents, vat_bp, options) in enumerate(_ARTICLE_ROWS[key], start=1):
            by_weight = "W" in options
            no_barcode = by_weight or "C" in options
            articles.append(
                DemoArticle(
                    reference=f"{prefix}-{rank:03d}",
                    name=name,
                    category=category.key,
                    vat_bp=vat_bp,
                    price_cents=price_cents,
                    barcode=None if no_barcode else _barcode(category.position, rank),
                    sold_by_weight=by_weight,
                    favourite="F" in options,
                )
            )
    return tuple(articles)


ARTICLES: tuple[DemoArticle, ...] = _build_articles()
