-- One database per service: no service reads another's tables.
CREATE DATABASE aduan_intake;
CREATE DATABASE aduan_verification;
CREATE DATABASE aduan_routing;
CREATE DATABASE aduan_sla;
CREATE DATABASE aduan_notifications;
