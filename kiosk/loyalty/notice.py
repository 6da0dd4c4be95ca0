"""The printable notice for the shop window (RGPD, art. 13): what the loyalty programme keeps, why, how
long, and how customers exercise their rights — as the seed's « Politique de Protection des Données »."""

from __future__ import annotations

from drivers.printer import Document, Feed, Rule, Text
from kiosk.config import Config


def privacy_notice(config: Config) -> Document:
    shop = config.shop
    months = config.customers.retention_months
    paragraphs = [
        f"Responsable du traitement : {shop.name}, {', '.join(shop.address)}, tél. {shop.phone}.",
        "Données collectées, avec votre accord à l'inscription : numéro de téléphone mobile (seul "
        "obligatoire), et si vous le souhaitez nom, prénom, e-mail, date de naissance, adresse ; vos achats "
        "dans ce magasin et votre cagnotte.",
        "Carte bancaire : nous ne conservons jamais son numéro. La caisse en garde une empreinte "
        "irréversible pour vous reconnaître, et les 4 derniers chiffres.",
        "Finalité : le programme de fidélité de ce magasin uniquement. Vos données ne sont ni vendues ni "
        "utilisées pour d'autres démarches commerciales.",
        f"Durée : tant que vous êtes client ; sans visite pendant {months} mois, vos données personnelles "
        "sont effacées. Les tickets de caisse sont conservés 6 ans (obligation fiscale) sans vos données.",
        "Vos droits : accès, rectification, effacement, opposition. Demandez-les en caisse : nous vous "
        "remettons vos données ou les effaçons sur-le-champ. Réclamation possible auprès de la CNIL "
        "(www.cnil.fr).",
    ]
    doc: Document = [
        Text("PROGRAMME DE FIDÉLITÉ", align="center", bold=True, double=True),
        Text("Protection de vos données personnelles", align="center", bold=True),
        Rule(),
    ]
    for paragraph in paragraphs:
        doc += [Text(paragraph), Feed(1)]
    return doc
