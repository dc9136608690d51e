#!/bin/sh
echo "preremove $*"
