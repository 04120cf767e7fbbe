"""The shared kit every Aduan service stands on.

Settings, event contracts and the topic catalogue, the Kafka bus (producer, admin,
faust app factory, outbox relay, inbox, dead letters), database setup and migrations,
metrics, logging, the embedded broker and the local launcher. No business rules live
here, and the kit imports no service: the launcher starts each one by module name.
"""
