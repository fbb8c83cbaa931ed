from nasiko.cli.main import main

main()
