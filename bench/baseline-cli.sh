#!/bin/sh
# Baseline (b): the AWS CLI create/wait loop.
#
#   baseline-cli.sh ENDPOINT PREFIX N
#
# For each stream in turn: `aws kinesis create-stream`, then
# `aws kinesis wait stream-exists` (the CLI's own waiter). Credentials and
# region come from the environment (bench.py passes fake ones); the endpoint
# is always the loopback mock.
set -eu
endpoint=$1 prefix=$2 n=$3
i=0
while [ "$i" -lt "$n" ]; do
        name=$(printf '%s-%04d' "$prefix" "$i")
        aws kinesis create-stream --stream-name "$name" --shard-count 1 --endpoint-url "$endpoint"
        aws kinesis wait stream-exists --stream-name "$name" --endpoint-url "$endpoint"
        i=$((i + 1))
done
