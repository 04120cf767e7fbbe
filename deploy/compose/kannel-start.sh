#!/bin/bash
# Renders kannel.conf with the sendsms password from the environment, starts bearerbox,
# then smsbox; the container ends (and restarts) if either of them ends.
set -euo pipefail
: "${KANNEL_SENDSMS_PASSWORD:?set KANNEL_SENDSMS_PASSWORD}"
: "${KANNEL_SMS_SECRET:?set KANNEL_SMS_SECRET}"
awk '/^group = sendsms-user/ {user = 1}
     user && /^password = / {print "password = " ENVIRON["KANNEL_SENDSMS_PASSWORD"]; next}
     /^get-url = / {sub("CHANGE-SMS-SECRET", ENVIRON["KANNEL_SMS_SECRET"])}
     {print}' /etc/kannel/kannel.conf > /tmp/kannel.conf
bearerbox -v 1 /tmp/kannel.conf &
bearer=$!
sleep 3
smsbox -v 1 /tmp/kannel.conf &
sms=$!
wait -n "$bearer" "$sms" || true
kill "$bearer" "$sms" 2>/dev/null || true
exit 1
