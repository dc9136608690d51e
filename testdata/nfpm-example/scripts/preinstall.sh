#!/bin/sh
echo "preinstall $*"
