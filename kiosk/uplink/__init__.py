"""MQTT uplink: the offline outbox, its publisher, the till's status, fleet commands and the portal ingest.

Topic layout (one broker for the fleet; `shop` and `till` are the configured ids):

    till/{shop}/{till}/events      till -> portal  outbox events, QoS 1, in sequence order
    till/{shop}/{till}/ack         portal -> till  cumulative ack: {"seq": N, "gap": bool}
    till/{shop}/{till}/status      till -> fleet   retained status (birth), last will (death)
    till/{shop}/{till}/cmd         fleet -> till   signed fleet command
    till/{shop}/{till}/cmd/result  till -> fleet   result, with the command's correlation id
    till/{shop}/{till}/inbound     portal -> till  other tills' stock/loyalty events (dispatch by type)
    till/{shop}/{till}/catalogue   portal -> till  retained catalogue/price update (versioned)
"""
