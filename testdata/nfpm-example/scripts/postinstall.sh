#!/bin/sh
echo "postinstall $*"
