#!/bin/sh
echo "postremove $*"
