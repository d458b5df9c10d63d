from tenantry.cli import main

# Guarded: uvicorn spawns worker processes, which re-import the main module.
if __name__ == "__main__":
    main()
