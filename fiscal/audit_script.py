"""The standard-tools check printed in every archive's notice.txt: a shell script an auditor copies and runs.

It needs only xmlsec1, openssl, xmllint (libxml2-utils) and python3's standard library, and checks:
the XML-DSig of records.xml (xmlsec1, with the archive key's certificate taken from the signature), that
certificate's Ed25519 signature by the till key (openssl pkeyutl -rawin: Ed25519 signs the message itself,
which `openssl dgst` cannot do in OpenSSL 3.0), and one record's Ed25519 signature, its signed message
rebuilt from records.xml exactly as `fiscal.canonical.signed_message` builds it. The script is text, not
code run by the till: tests/fiscal/test_notice_commands.py runs it, as printed, against a real archive.
"""

from __future__ import annotations

AUDIT_BEGIN = "#!/bin/bash"
AUDIT_END = "# fin du script"

AUDIT_SCRIPT = r"""#!/bin/bash
set -e
# Placez-vous dans le répertoire où l'archive est décompressée (unzip ARCHIVE.zip), avec la clé publique
# publiée de la caisse, obtenue par un autre canal que l'archive, sous le nom cle-publiee.pem.
# Paquets Debian : xmlsec1 openssl libxml2-utils python3.
#
# 1. Signature XML (XML-DSig) de records.xml. Le certificat d'archivage est extrait de la signature, puis
#    xmlsec1 vérifie la signature avec la clé de ce certificat, et elle seule (--enabled-key-data key-name
#    ignore le certificat joint, qui n'est pas émis par une autorité de certification ; 2. le vérifie),
#    sur le document entier (--enabled-reference-uris empty : Reference URI="").
#    Attendu : « OK » et « SignedInfo References (ok/all): 1/1 ».
xmllint --xpath 'string(//*[local-name()="X509Certificate"])' records.xml | base64 -d > archivage.der
openssl x509 -inform DER -in archivage.der -out archivage.pem
xmlsec1 --verify --pubkey-cert-pem archivage.pem --enabled-key-data key-name --enabled-reference-uris empty records.xml
#
# 2. Le certificat d'archivage est signé par la clé Ed25519 de la caisse (RFC 8410). La partie signée
#    (TBSCertificate, à l'octet 4 du certificat DER) et la signature (ses 64 derniers octets) sont
#    extraites, puis vérifiées avec la clé publiée. Ed25519 signe le message lui-même (pas un condensé) :
#    c'est `openssl pkeyutl -verify -rawin` qu'il faut (`openssl dgst -verify` refuse Ed25519).
#    Attendu : « Signature Verified Successfully ».
openssl asn1parse -inform DER -in archivage.der -strparse 4 -noout -out archivage.tbs
tail -c 64 archivage.der > archivage.sig
openssl pkeyutl -verify -pubin -inkey cle-publiee.pem -rawin -in archivage.tbs -sigfile archivage.sig
#
# 3. Signature Ed25519 d'un enregistrement : ici le ticket n°1 (changez JOURNAL et NUMERO ; journaux
#    TICKET, DUPLICATE, CLOSURE, JET, ARCHIVE, TRAINING). Le message signé est le tableau JSON compact
#    (UTF-8, séparateurs « , » et « : » sans espace, caractères non ASCII tels quels) :
#      [1, till, journal, seq, rtype, ts_utc, tz_offset, day, total, body, prev_sig, key_id]
#    seq, tz_offset et total sont des nombres (total null quand <total/> est vide), les autres des
#    chaînes ; body est le texte JSON canonique du corps, tel quel ; prev_sig est la signature de
#    l'enregistrement précédent du même journal ("" pour le premier) : c'est le chaînage. Ce programme
#    python3 (bibliothèque standard seule) écrit le message (message.bin), la signature décodée du
#    base64 (signature.bin) et la clé publique de l'enregistrement (cle.pem).
JOURNAL=TICKET NUMERO=1
python3 - records.xml "$JOURNAL" "$NUMERO" <<'FIN'
import base64, json, sys, xml.etree.ElementTree as ET
fichier, journal, numero = sys.argv[1:4]
racine = ET.parse(fichier).getroot()
def texte(element):
    valeur = element.text or ""
    if element.get("encodage") == "base64":
        return base64.b64decode(valeur).decode("utf-8", "surrogatepass")
    return valeur
for element in racine.findall(f"journal[@nom='{journal}']//enregistrement"):
    v = {colonne.tag: texte(colonne) for colonne in element}
    if v["seq"] == numero:
        break
else:
    sys.exit(f"{journal} n°{numero} absent de {fichier}")
message = [1, v["till"], v["journal"], int(v["seq"]), v["rtype"], v["ts_utc"], int(v["tz_offset"]),
           v["day"], int(v["total"]) if v["total"] else None, v["body"], v["prev_sig"], v["key_id"]]
texte_signe = json.dumps(message, ensure_ascii=False, separators=(",", ":"))
open("message.bin", "wb").write(texte_signe.encode("utf-8"))
open("signature.bin", "wb").write(base64.b64decode(v["sig"]))
cle = racine.find(f"cles/cle[@key_id='{v['key_id']}']")
open("cle.pem", "w").write(texte(cle))
print(f"{journal} n°{numero} : clé {v['key_id']}, signature précédente {v['prev_sig'][:16] or '(aucune)'}…")
FIN
#    La clé de l'enregistrement doit être la clé publiée (pour une clé remplacée depuis, comparez avec
#    la clé annoncée par l'événement JET KEY_ROTATION) ; son identifiant (key_id) est le début du
#    SHA-256 de ses 32 octets bruts :
openssl pkey -pubin -in cle.pem -outform DER | tail -c 32 | sha256sum | cut -c1-16
publiee=$(openssl pkey -pubin -in cle-publiee.pem -outform DER | sha256sum)
if [ "$(openssl pkey -pubin -in cle.pem -outform DER | sha256sum)" = "$publiee" ]; then
  echo "clé de l'enregistrement = clé publiée"
else
  echo "CLÉ DE L'ENREGISTREMENT DIFFÉRENTE DE LA CLÉ PUBLIÉE"; exit 1
fi
#    Attendu : « Signature Verified Successfully ».
openssl pkeyutl -verify -pubin -inkey cle.pem -rawin -in message.bin -sigfile signature.bin
# fin du script
"""
