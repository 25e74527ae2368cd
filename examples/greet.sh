#!/usr/bin/env bash
# Used by with-files.yaml.
echo "Hello from ${WHO:-pyarn}, shipped as a file"
